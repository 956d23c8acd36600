package cn.gov.platform.subsystem;

import cn.gov.platform.db.Database;
import cn.gov.platform.db.Where;
import cn.gov.platform.json.Json;
import cn.gov.platform.web.ApiException;
import cn.gov.platform.web.Body;
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
 * publishing: regional cooperation articles. Reading an article (GET
 * /items/{id}) is the platform's hottest path: it bumps view_count and writes
 * one publishing_access row in the same transaction.
 */
public class PublishingServlet extends SubsystemServlet {
    private static final long serialVersionUID = 1L;

    static final Set<String> CATEGORIES =
            Set.of("news", "policy", "cooperation", "assistance", "investment", "media");
    static final String ARTICLE_COLUMNS = "id, title, category, author, published_at, view_count";

    @Override
    public String slug() {
        return "publishing";
    }

    @Override
    protected String healthTable() {
        return "publishing_article";
    }

    @Override
    protected String listColumns() {
        return "a.id, a.title, a.category, a.author, a.published_at, a.view_count";
    }

    @Override
    protected String from() {
        return "FROM publishing_article a";
    }

    @Override
    protected String idColumn() {
        return "a.id";
    }

    @Override
    protected Map<String, String> sortFields() {
        return Map.of("id", "a.id", "published_at", "a.published_at", "view_count", "a.view_count",
                "title", "a.title");
    }

    @Override
    protected void filters(Params p, Where w) throws ApiException {
        w.add("a.category = ?", p.oneOf("category", CATEGORIES));
        w.add("a.author = ?", p.get("author"));
        dateRange(p, w, "a.published_at");
    }

    @Override
    protected List<String> searchColumns() {
        return List.of("a.title", "a.author");
    }

    /** Reads an article and records the access, in one transaction. */
    @Override
    protected Map<String, Object> detail(Connection c, long id, HttpServletRequest req)
            throws ApiException, SQLException {
        String addr = req.getRemoteAddr();
        String ua = req.getHeader("User-Agent");
        if (ua != null && ua.length() > 300) {
            ua = ua.substring(0, 300);
        }
        String agent = ua;
        return Database.inTransaction(c, tx -> {
            Map<String, Object> a = Database.one(tx,
                    "UPDATE publishing_article SET view_count = view_count + 1 WHERE id = ? "
                            + "RETURNING " + ARTICLE_COLUMNS + ", body", id);
            if (a != null) {
                Database.update(tx,
                        "INSERT INTO publishing_access (article_id, client_addr, user_agent) VALUES (?, ?, ?)",
                        id, addr, agent);
            }
            return a;
        });
    }

    @Override
    protected boolean extra(String[] path, HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        if (path.length == 1 && path[0].equals("most-read")) {
            requireGet(req.getMethod(), resp);
            mostRead(req, resp);
            return true;
        }
        return false;
    }

    /**
     * GET /api/publishing/most-read?from=&amp;to=&amp;limit=10 — most read articles
     * counted from the access records (optionally within a date window, Shanghai days).
     * The database function publishing_most_read answers it: counted on the fly as
     * installed (migration 010), from maintained monthly counts under the optimised
     * tuning profile (platform/sql/rollups); the same ranking either way.
     */
    private void mostRead(HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        Params p = new Params(req);
        Long limit = p.longValue("limit", 1, 100);
        int n = limit == null ? 10 : limit.intValue();
        LocalDate from = p.date("from");
        LocalDate to = p.date("to");
        if (from != null && to != null && to.isBefore(from)) {
            throw ApiException.badRequest("parameter 'to' is before 'from'");
        }
        List<Object> params = new ArrayList<>();
        params.add(from);
        params.add(to);
        params.add(n);
        try (Connection c = Database.connect()) {
            List<Map<String, Object>> items = Database.list(c,
                    "SELECT a.id, a.title, a.category, a.published_at, r.reads"
                            + " FROM publishing_most_read(?::date, ?::date, ?) r"
                            + " JOIN publishing_article a ON a.id = r.article_id ORDER BY r.reads DESC, a.id",
                    params);
            send(resp, 200, Json.obj("items", items, "from", from, "to", to, "limit", n));
        }
    }

    @Override
    protected long create(Connection c, Map<String, Object> m) throws ApiException, SQLException {
        Body b = body(m, "title", "category", "author", "body");
        String title = b.string("title", true, 200);
        String category = b.oneOf("category", true, CATEGORIES);
        String author = b.string("author", false, 100);
        String text = b.string("body", false, 100000);
        return Database.insertReturningId(c,
                "INSERT INTO publishing_article (title, category, author, body) VALUES (?, ?, ?, ?) RETURNING id",
                title, category, author == null ? "" : author, text == null ? "" : text);
    }

    @Override
    protected Map<String, Object> stats(Connection c, Params p) throws SQLException {
        Map<String, Object> totals = Database.one(c,
                "SELECT count(*) AS articles, coalesce(sum(view_count), 0) AS views FROM publishing_article");
        return Json.obj(
                "total", totals.get("articles"),
                "total_views", totals.get("views"),
                "by_category", Database.list(c,
                        "SELECT category, count(*) AS count, sum(view_count) AS views FROM publishing_article "
                                + "GROUP BY category ORDER BY category"),
                "by_year", Database.list(c,
                        "SELECT to_char(published_at AT TIME ZONE '" + TZ + "', 'YYYY') AS year, count(*) AS count "
                                + "FROM publishing_article GROUP BY 1 ORDER BY 1"),
                "top_read", Database.list(c,
                        "SELECT id, title, category, view_count FROM publishing_article "
                                + "ORDER BY view_count DESC, id LIMIT 10"));
    }
}
