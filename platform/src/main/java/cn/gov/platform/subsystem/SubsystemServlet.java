package cn.gov.platform.subsystem;

import cn.gov.platform.db.Database;
import cn.gov.platform.db.Where;
import cn.gov.platform.json.Json;
import cn.gov.platform.web.ApiException;
import cn.gov.platform.web.Body;
import cn.gov.platform.web.JsonServlet;
import cn.gov.platform.web.Params;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.naming.NamingException;

/**
 * The common routes of a subsystem, mounted at {@code /api/<slug>/*}:
 *
 * <pre>
 * GET  /api/&lt;slug&gt;/items?filters&amp;page&amp;size&amp;sort   list envelope
 * GET  /api/&lt;slug&gt;/items/{id}                      one object or 404
 * GET  /api/&lt;slug&gt;/search?q=&amp;page&amp;size&amp;sort      list envelope
 * POST /api/&lt;slug&gt;/items                           201 {"id": N} after COMMIT
 * GET  /api/&lt;slug&gt;/stats                           aggregates
 * GET  /api/&lt;slug&gt;/health                          {"status":"ok","subsystem":slug}
 * </pre>
 *
 * A subclass supplies the SQL fragments (all constant strings), the filters,
 * the sort whitelist and the create/stats logic; {@link #extra} adds routes.
 */
public abstract class SubsystemServlet extends JsonServlet {
    private static final long serialVersionUID = 1L;

    /** Time zone of the platform's calendar (date filters, per-year statistics). */
    public static final String TZ = "Asia/Shanghai";

    /** The URL slug, e.g. "investment". */
    public abstract String slug();

    /** Table probed by the subsystem health check. */
    protected abstract String healthTable();

    /** SELECT list for list/search rows (no FROM). */
    protected abstract String listColumns();

    /** FROM clause (with joins) for list/search/detail. */
    protected abstract String from();

    /** FROM clause for COUNT(*) of a filtered list; may omit joins the filters do not need. */
    protected String countFrom() {
        return from();
    }

    /** SELECT list for the detail object. */
    protected String detailColumns() {
        return listColumns();
    }

    /** SQL expression of the primary key, e.g. "p.id". */
    protected abstract String idColumn();

    /** Sort whitelist: parameter name → SQL expression. Must contain "id". */
    protected abstract Map<String, String> sortFields();

    protected String defaultSort() {
        return "id,desc";
    }

    /** Adds the subsystem's natural filters from the query string. */
    protected abstract void filters(Params p, Where w) throws ApiException;

    /** Columns matched with ILIKE by /search. */
    protected abstract List<String> searchColumns();

    /** OR-ed /search conditions, each with exactly one '?' for the LIKE pattern. */
    protected List<String> searchConditions() {
        return searchColumns().stream().map(col -> col + " ILIKE ?").toList();
    }

    /**
     * Search columns and the name of the declared bigram index on each (platform/sql/indexes/,
     * built by the optimised profile). A two-character keyword has no trigram: when every search
     * column has its bigram index, such a search asks
     * {@code (search_bigrams(col) && ARRAY[lower(kw)] OR ...) AND ((col || '') ILIKE pattern OR ...)}
     * (search_bigrams: migration 011): the bigram indexes find the candidates, the ILIKE keeps the
     * rows the plain search would find (a match implies the bigram), and {@code || ''} keeps the
     * trigram indexes, useless for two characters, out of the plan ({@link #bigramPage}). Without the indexes (the
     * baseline profile) the plain ILIKE search runs, as installed. Only for servlets that keep
     * the default {@link #searchConditions()}.
     */
    protected Map<String, String> bigramIndexes() {
        return Map.of();
    }

    /** FROM clause for COUNT(*) of a search; the full {@link #from()} unless overridden. */
    protected String searchCountFrom() {
        return from();
    }

    /** Inserts a new item from a JSON body (inside a transaction) and returns its id. */
    protected abstract long create(Connection c, Map<String, Object> body) throws ApiException, SQLException;

    protected abstract Map<String, Object> stats(Connection c, Params p) throws ApiException, SQLException;

    /** Extra routes; return false when the path is not handled. */
    protected boolean extra(String[] path, HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        return false;
    }

    /** Detail lookup; the default is a plain SELECT by id. */
    protected Map<String, Object> detail(Connection c, long id, HttpServletRequest req)
            throws ApiException, SQLException {
        return Database.one(c, "SELECT " + detailColumns() + " " + from() + " WHERE " + idColumn() + " = ?", id);
    }

    @Override
    protected void handle(HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        String[] path = segments(req);
        String method = req.getMethod();
        if (path.length == 0) {
            requireGet(method, resp);
            send(resp, 200, Json.obj("subsystem", slug(), "endpoints", List.of(
                    "GET /api/" + slug() + "/items", "GET /api/" + slug() + "/items/{id}",
                    "POST /api/" + slug() + "/items", "GET /api/" + slug() + "/search?q=",
                    "GET /api/" + slug() + "/stats", "GET /api/" + slug() + "/health")));
            return;
        }
        switch (path[0]) {
            case "items" -> {
                if (path.length == 1) {
                    if (method.equals("GET")) {
                        list(req, resp);
                    } else if (method.equals("POST")) {
                        post(req, resp);
                    } else {
                        throw methodNotAllowed(resp, "GET", "POST");
                    }
                    return;
                }
                if (path.length == 2) {
                    requireGet(method, resp);
                    long id = parseId(path[1]);
                    try (Connection c = Database.connect()) {
                        Map<String, Object> item = detail(c, id, req);
                        if (item == null) {
                            throw ApiException.notFound(slug() + " item " + id + " not found");
                        }
                        send(resp, 200, item);
                    }
                    return;
                }
            }
            case "search" -> {
                if (path.length == 1) {
                    requireGet(method, resp);
                    search(req, resp);
                    return;
                }
            }
            case "stats" -> {
                if (path.length == 1) {
                    requireGet(method, resp);
                    try (Connection c = Database.connect()) {
                        send(resp, 200, stats(c, new Params(req)));
                    }
                    return;
                }
            }
            case "health" -> {
                if (path.length == 1) {
                    requireGet(method, resp);
                    health(resp);
                    return;
                }
            }
            default -> {
                // fall through to extra routes
            }
        }
        if (!extra(path, req, resp)) {
            throw ApiException.notFound("no such endpoint: " + req.getRequestURI());
        }
    }

    protected static void requireGet(String method, HttpServletResponse resp) throws ApiException {
        if (!method.equals("GET")) {
            throw methodNotAllowed(resp, "GET");
        }
    }

    protected static void requirePost(String method, HttpServletResponse resp) throws ApiException {
        if (!method.equals("POST")) {
            throw methodNotAllowed(resp, "POST");
        }
    }

    private void list(HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        Params p = new Params(req);
        int page = p.page();
        int size = p.size();
        String order = p.orderBy(sortFields(), idColumn(), defaultSort());
        Where w = new Where();
        filters(p, w);
        try (Connection c = Database.connect()) {
            send(resp, 200, page(c, listColumns(), from(), countFrom(), w, order, page, size));
        }
    }

    private void search(HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        Params p = new Params(req);
        String q = p.keyword();
        int page = p.page();
        int size = p.size();
        String order = p.orderBy(sortFields(), idColumn(), defaultSort());
        String pattern = Params.likePattern(q);
        try (Connection c = Database.connect()) {
            if (useBigrams(c, q)) {
                send(resp, 200, bigramPage(c, bigramSearch(q, pattern), order, page, size));
            } else {
                send(resp, 200, page(c, listColumns(), from(), searchCountFrom(), plainSearch(pattern), order, page,
                        size));
            }
        }
    }

    /**
     * The page of a bigram search in three plain steps: the count and the page's ids from the
     * searched table alone ({@link #countFrom()}), then those rows with their joins. Each step has
     * one obvious plan, also as a generic plan of a prepared statement, which does not know that
     * the keyword has two characters (as one statement, its generic plan read the trigram indexes
     * whole: ~380 ms).
     */
    private Map<String, Object> bigramPage(Connection c, Where w, String order, int page, int size)
            throws SQLException {
        long total = Database.scalarLong(c, "SELECT count(*) " + countFrom() + w.sql(), w.params());
        List<Object> params = new ArrayList<>(w.params());
        params.add(size);
        params.add((long) (page - 1) * size);
        List<Object> ids = total == 0 ? List.of()
                : Database.list(c, "SELECT " + idColumn() + " AS id " + countFrom() + w.sql() + order
                        + " LIMIT ? OFFSET ?", params).stream().map(row -> row.get("id")).toList();
        List<Map<String, Object>> items = ids.isEmpty() ? List.of()
                : Database.list(c, "SELECT " + listColumns() + " " + from() + " WHERE " + idColumn() + " IN ("
                        + String.join(", ", java.util.Collections.nCopies(ids.size(), "?")) + ")" + order, ids);
        return Json.obj("items", items, "page", page, "size", size, "total", total);
    }

    private Where plainSearch(String pattern) {
        List<String> ors = new ArrayList<>();
        List<Object> params = new ArrayList<>();
        for (String cond : searchConditions()) {
            ors.add(cond);
            params.add(pattern);
        }
        return new Where().addAll("(" + String.join(" OR ", ors) + ")", params);
    }

    /** Candidates from the bigram indexes; the ILIKE on {@code col || ''} keeps the trigram indexes out. */
    private Where bigramSearch(String q, String pattern) {
        List<String> bigrams = new ArrayList<>();
        List<String> likes = new ArrayList<>();
        List<Object> params = new ArrayList<>();
        for (String col : searchColumns()) {
            bigrams.add("search_bigrams(" + col + ") && ARRAY[lower(?::text)]");
            params.add(q);
        }
        for (String col : searchColumns()) {
            likes.add("(" + col + " || '') ILIKE ?");
            params.add(pattern);
        }
        return new Where().addAll(
                "(" + String.join(" OR ", bigrams) + ") AND (" + String.join(" OR ", likes) + ")", params);
    }

    /** A two-character keyword, and every search column's bigram index in place. */
    private boolean useBigrams(Connection c, String q) throws SQLException {
        Map<String, String> indexes = bigramIndexes();
        String lower = q.toLowerCase(java.util.Locale.ROOT);
        if (q.codePointCount(0, q.length()) != 2 || lower.codePointCount(0, lower.length()) != 2 || indexes.isEmpty()
                || !indexes.keySet().containsAll(searchColumns())) {
            return false;
        }
        List<Object> names = new ArrayList<>(indexes.values());
        String marks = String.join(", ", java.util.Collections.nCopies(names.size(), "?"));
        return Database.scalarLong(c, "SELECT count(*) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
                + "WHERE i.indisvalid AND x.relname IN (" + marks + ")", names) == names.size();
    }

    /** The list envelope {"items", "page", "size", "total"}. */
    protected static Map<String, Object> page(Connection c, String columns, String from, String countFrom,
            Where w, String order, int page, int size) throws SQLException {
        long total = Database.scalarLong(c, "SELECT count(*) " + countFrom + w.sql(), w.params());
        List<Object> params = new ArrayList<>(w.params());
        params.add(size);
        params.add((long) (page - 1) * size);
        List<Map<String, Object>> items = total == 0 ? List.of()
                : Database.list(c, "SELECT " + columns + " " + from + w.sql() + order + " LIMIT ? OFFSET ?", params);
        return Json.obj("items", items, "page", page, "size", size, "total", total);
    }

    private void post(HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        Map<String, Object> body = readJsonObject(req);
        long id;
        try (Connection c = Database.connect()) {
            id = Database.inTransaction(c, tx -> create(tx, body));
        }
        // Only reached after COMMIT succeeded.
        resp.setHeader("Location", "/api/" + slug() + "/items/" + id);
        send(resp, 201, Json.obj("id", id));
    }

    private void health(HttpServletResponse resp) throws IOException {
        try (Connection c = Database.connect()) {
            Database.exists(c, "SELECT 1 FROM " + healthTable() + " LIMIT 1");
            send(resp, 200, Json.obj("status", "ok", "subsystem", slug()));
        } catch (SQLException | NamingException e) {
            log("health check of " + slug() + " failed", e);
            send(resp, 503, Json.obj("status", "error", "subsystem", slug(), "error", String.valueOf(e.getMessage())));
        }
    }

    // ---------------------------------------------------------------- helpers

    /** 400 unless a row with this id exists (gives a clear message instead of an FK error). */
    protected static void requireRow(Connection c, String table, String column, Object value, String field)
            throws ApiException, SQLException {
        if (!Database.exists(c, "SELECT 1 FROM " + table + " WHERE " + column + " = ?", value)) {
            throw ApiException.badRequest("field '" + field + "': " + value + " does not exist");
        }
    }

    protected static Body body(Map<String, Object> m, String... keys) throws ApiException {
        return new Body(m, Set.of(keys));
    }

    /** from/to date filters on a timestamp column; to is inclusive. */
    protected static void dateRange(Params p, Where w, String column) throws ApiException {
        LocalDate from = p.date("from");
        LocalDate to = p.date("to");
        if (from != null && to != null && to.isBefore(from)) {
            throw ApiException.badRequest("parameter 'to' is before 'from'");
        }
        // Day boundaries are Shanghai days, whatever the JVM/session time zone.
        w.add(column + " >= (?::date)::timestamp AT TIME ZONE '" + TZ + "'", from);
        w.add(column + " < (?::date + 1)::timestamp AT TIME ZONE '" + TZ + "'", to);
    }

    /** Counts grouped by one column: [{"key": v, "count": n}, ...]. */
    protected static List<Map<String, Object>> countBy(Connection c, String table, String column, String as)
            throws SQLException {
        return Database.list(c, "SELECT " + column + " AS " + as + ", count(*) AS count FROM " + table
                + " GROUP BY " + column + " ORDER BY " + column);
    }
}
