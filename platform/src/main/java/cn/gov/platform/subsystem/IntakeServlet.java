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

/** intake: reports received from the city's offices elsewhere in China. */
public class IntakeServlet extends SubsystemServlet {
    private static final long serialVersionUID = 1L;

    static final Set<String> STATUSES = Set.of("received", "processing", "closed", "rejected");

    @Override
    public String slug() {
        return "intake";
    }

    @Override
    protected String healthTable() {
        return "intake_report";
    }

    @Override
    protected String listColumns() {
        return "r.id, r.office_id, o.name AS office_name, o.city, r.title, r.status, r.received_at, r.closed_at";
    }

    @Override
    protected String detailColumns() {
        return listColumns() + ", o.province, r.body";
    }

    @Override
    protected String from() {
        return "FROM intake_report r JOIN intake_office o ON o.id = r.office_id";
    }

    @Override
    protected String countFrom() {
        return "FROM intake_report r";
    }

    @Override
    protected String idColumn() {
        return "r.id";
    }

    @Override
    protected Map<String, String> sortFields() {
        return Map.of("id", "r.id", "received_at", "r.received_at", "status", "r.status", "title", "r.title");
    }

    @Override
    protected void filters(Params p, Where w) throws ApiException {
        w.add("r.office_id = ?", p.id("office_id"));
        w.add("r.status = ?", p.oneOf("status", STATUSES));
        dateRange(p, w, "r.received_at");
    }

    @Override
    protected List<String> searchColumns() {
        return List.of("r.title", "r.body", "o.city");
    }

    /**
     * The office city is matched in the small office table first and the reports filtered by
     * key (same rows as o.city ILIKE over the join: every report has exactly one office), so
     * the planner can OR index scans and the count needs no join (platform/sql/indexes).
     */
    @Override
    protected List<String> searchConditions() {
        return List.of("r.title ILIKE ?", "r.body ILIKE ?",
                "r.office_id = ANY (ARRAY(SELECT id FROM intake_office WHERE city ILIKE ?))");
    }

    @Override
    protected String searchCountFrom() {
        return countFrom();
    }

    @Override
    protected long create(Connection c, Map<String, Object> m) throws ApiException, SQLException {
        Body b = body(m, "office_id", "title", "body", "status");
        long office = b.id("office_id", true);
        String title = b.string("title", true, 200);
        String text = b.string("body", false, 20000);
        String status = b.oneOf("status", false, STATUSES);
        if (status == null) {
            status = "received";
        }
        requireRow(c, "intake_office", "id", office, "office_id");
        return Database.insertReturningId(c,
                "INSERT INTO intake_report (office_id, title, body, status, closed_at) "
                        + "VALUES (?, ?, ?, ?, CASE WHEN ? IN ('closed', 'rejected') THEN now() END) RETURNING id",
                office, title, text == null ? "" : text, status, status);
    }

    @Override
    protected Map<String, Object> stats(Connection c, Params p) throws SQLException {
        return Json.obj(
                "total", Database.scalarLong(c, "SELECT count(*) FROM intake_report", List.of()),
                "by_status", countBy(c, "intake_report", "status", "status"),
                "by_office", Database.list(c,
                        "SELECT o.id AS office_id, o.name AS office_name, o.city, count(r.id) AS count, "
                                + "count(r.id) FILTER (WHERE r.status IN ('received', 'processing')) AS open "
                                + "FROM intake_office o LEFT JOIN intake_report r ON r.office_id = o.id "
                                + "GROUP BY o.id, o.name, o.city ORDER BY o.id"),
                "by_year", Database.list(c,
                        "SELECT to_char(received_at AT TIME ZONE '" + TZ + "', 'YYYY') AS year, count(*) AS count "
                                + "FROM intake_report GROUP BY 1 ORDER BY 1"));
    }
}
