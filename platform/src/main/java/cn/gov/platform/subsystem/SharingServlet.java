package cn.gov.platform.subsystem;

import cn.gov.platform.db.Database;
import cn.gov.platform.db.Where;
import cn.gov.platform.json.Json;
import cn.gov.platform.web.ApiException;
import cn.gov.platform.web.Body;
import cn.gov.platform.web.Params;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** sharing: notices shared between the city's regional (district) offices. */
public class SharingServlet extends SubsystemServlet {
    private static final long serialVersionUID = 1L;

    static final Set<String> CATEGORIES =
            Set.of("policy", "cooperation", "investment", "assistance", "event", "notice");
    static final Set<String> STATUSES = Set.of("draft", "published", "withdrawn");

    @Override
    public String slug() {
        return "sharing";
    }

    @Override
    protected String healthTable() {
        return "sharing_notice";
    }

    @Override
    protected String listColumns() {
        return "n.id, n.office_id, o.name AS office_name, o.district, n.title, n.category, n.status, n.published_at";
    }

    @Override
    protected String detailColumns() {
        return listColumns() + ", n.body";
    }

    @Override
    protected String from() {
        return "FROM sharing_notice n JOIN sharing_office o ON o.id = n.office_id";
    }

    @Override
    protected String countFrom() {
        return "FROM sharing_notice n";
    }

    @Override
    protected String idColumn() {
        return "n.id";
    }

    @Override
    protected Map<String, String> sortFields() {
        return Map.of("id", "n.id", "published_at", "n.published_at", "title", "n.title");
    }

    @Override
    protected void filters(Params p, Where w) throws ApiException {
        w.add("n.office_id = ?", p.id("office_id"));
        w.add("n.category = ?", p.oneOf("category", CATEGORIES));
        w.add("n.status = ?", p.oneOf("status", STATUSES));
        dateRange(p, w, "n.published_at");
    }

    @Override
    protected List<String> searchColumns() {
        return List.of("n.title", "n.body");
    }

    @Override
    protected long create(Connection c, Map<String, Object> m) throws ApiException, SQLException {
        Body b = body(m, "office_id", "title", "category", "body", "status");
        long office = b.id("office_id", true);
        String title = b.string("title", true, 200);
        String category = b.oneOf("category", true, CATEGORIES);
        String text = b.string("body", false, 20000);
        String status = b.oneOf("status", false, STATUSES);
        requireRow(c, "sharing_office", "id", office, "office_id");
        return Database.insertReturningId(c,
                "INSERT INTO sharing_notice (office_id, title, category, body, status) "
                        + "VALUES (?, ?, ?, ?, ?) RETURNING id",
                office, title, category, text == null ? "" : text, status == null ? "published" : status);
    }

    @Override
    protected Map<String, Object> stats(Connection c, Params p) throws SQLException {
        return Json.obj(
                "total", Database.scalarLong(c, "SELECT count(*) FROM sharing_notice", List.of()),
                "offices", Database.scalarLong(c, "SELECT count(*) FROM sharing_office", List.of()),
                "by_category", countBy(c, "sharing_notice", "category", "category"),
                "by_status", countBy(c, "sharing_notice", "status", "status"),
                "by_office", Database.list(c,
                        "SELECT o.id AS office_id, o.name AS office_name, count(n.id) AS count "
                                + "FROM sharing_office o LEFT JOIN sharing_notice n ON n.office_id = o.id "
                                + "GROUP BY o.id, o.name ORDER BY o.id"));
    }
}
