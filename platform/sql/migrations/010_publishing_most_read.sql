-- 010: publishing — the most-read ranking as one function the servlet calls:
-- publishing_most_read(from, to, limit) -> (article_id, reads), window days in
-- Shanghai time, either bound NULL for open, ordered by reads DESC, article_id.
-- publishing_most_read_scan counts the access rows on the fly (the schema as
-- installed). The optimised tuning profile's rollup (../rollups/) replaces
-- publishing_most_read with a version that reads maintained monthly counts;
-- the baseline profile points it back here. Both answer the same ranking.
CREATE FUNCTION publishing_most_read_scan(p_from date, p_to date, p_limit integer)
RETURNS TABLE (article_id bigint, reads bigint)
LANGUAGE sql STABLE
AS $$
    SELECT x.article_id, count(*) AS reads
      FROM publishing_access x
     WHERE (p_from IS NULL OR x.accessed_at >= p_from::timestamp AT TIME ZONE 'Asia/Shanghai')
       AND (p_to IS NULL OR x.accessed_at < (p_to + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
     GROUP BY x.article_id
     ORDER BY reads DESC, x.article_id
     LIMIT p_limit
$$;

CREATE FUNCTION publishing_most_read(p_from date, p_to date, p_limit integer)
RETURNS TABLE (article_id bigint, reads bigint)
LANGUAGE sql STABLE
AS $$ SELECT * FROM publishing_most_read_scan(p_from, p_to, p_limit) $$;
