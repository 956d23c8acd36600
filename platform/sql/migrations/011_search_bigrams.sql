-- 011: search — two-character keywords. A trigram index cannot serve ILIKE '%kw%'
-- when kw has two characters (no trigram in it): such searches read the whole table.
-- search_bigrams(text) is the set of lower-cased two-character substrings of a text.
-- When a servlet's search columns all carry a declared bigram index (../indexes/,
-- optimised profile), a two-character keyword is searched with
-- `search_bigrams(col) && ARRAY[lower(kw)]` for the candidates and the ILIKE for the
-- rows (SubsystemServlet.bigramIndexes): the result is the ILIKE's. Without the
-- indexes (baseline) the plain ILIKE runs, as installed. IMMUTABLE as an index
-- expression must be; lower() follows the database's collation, as ILIKE does.
CREATE FUNCTION search_bigrams(t text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT coalesce(array_agg(DISTINCT substr(lower(t), i, 2)), '{}')
      FROM generate_series(1, char_length(t) - 1) AS i
$$;
