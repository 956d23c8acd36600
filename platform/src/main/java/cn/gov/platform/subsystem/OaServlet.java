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
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.naming.NamingException;

/**
 * oa: office-automation documents and their flow steps.
 *
 * <pre>
 * GET  /api/oa/inbox?user=N&amp;page&amp;size      pending steps assigned to user N
 * POST /api/oa/steps/{id}/approve         body {"to_user"?: N, "comment"?, "step_name"?}
 * POST /api/oa/steps/{id}/forward         body {"to_user": N, "comment"?, "step_name"?}
 * </pre>
 *
 * Approving closes the step; with to_user it opens the next step for that user,
 * without it the document is completed. Forwarding closes the step as
 * 'forwarded' and opens the next step for to_user. Either is 409 unless the
 * step is pending.
 */
public class OaServlet extends SubsystemServlet {
    private static final long serialVersionUID = 1L;

    static final Set<String> STATUSES = Set.of("in_progress", "completed");
    static final Set<String> DIRECTIONS = Set.of("received", "sent", "internal");
    static final Set<String> URGENCIES = Set.of("normal", "urgent");

    @Override
    public String slug() {
        return "oa";
    }

    @Override
    protected String healthTable() {
        return "oa_document";
    }

    @Override
    protected String listColumns() {
        return "d.id, d.doc_no, d.title, d.direction, d.urgency, d.status, d.created_by, "
                + "u.name AS created_by_name, d.created_at, d.completed_at";
    }

    @Override
    protected String from() {
        return "FROM oa_document d JOIN oa_user u ON u.id = d.created_by";
    }

    @Override
    protected String countFrom() {
        return "FROM oa_document d";
    }

    @Override
    protected String idColumn() {
        return "d.id";
    }

    @Override
    protected Map<String, String> sortFields() {
        return Map.of("id", "d.id", "created_at", "d.created_at", "title", "d.title", "status", "d.status");
    }

    @Override
    protected void filters(Params p, Where w) throws ApiException {
        w.add("d.status = ?", p.oneOf("status", STATUSES));
        w.add("d.direction = ?", p.oneOf("direction", DIRECTIONS));
        w.add("d.urgency = ?", p.oneOf("urgency", URGENCIES));
        w.add("d.created_by = ?", p.id("created_by"));
        dateRange(p, w, "d.created_at");
    }

    @Override
    protected List<String> searchColumns() {
        return List.of("d.title", "d.doc_no");
    }

    @Override
    protected Map<String, String> bigramIndexes() {
        return Map.of("d.title", "oa_document_title_bigram_idx", "d.doc_no", "oa_document_doc_no_bigram_idx");
    }

    /** The document with its flow steps. */
    @Override
    protected Map<String, Object> detail(Connection c, long id, HttpServletRequest req)
            throws ApiException, SQLException {
        Map<String, Object> doc = super.detail(c, id, req);
        if (doc != null) {
            doc.put("steps", Database.list(c,
                    "SELECT s.id, s.step_no, s.step_name, s.assignee_id, u.name AS assignee_name, s.status, "
                            + "s.comment, s.created_at, s.acted_at FROM oa_flow_step s "
                            + "JOIN oa_user u ON u.id = s.assignee_id "
                            + "WHERE s.document_id = ? ORDER BY s.step_no, s.id", id));
        }
        return doc;
    }

    /** Creates a document and its first (pending) step; doc_no is generated when absent. */
    @Override
    protected long create(Connection c, Map<String, Object> m) throws ApiException, SQLException {
        Body b = body(m, "title", "direction", "urgency", "created_by", "assignee_id", "doc_no");
        String title = b.string("title", true, 200);
        String direction = b.oneOf("direction", true, DIRECTIONS);
        String urgency = b.oneOf("urgency", false, URGENCIES);
        long createdBy = b.id("created_by", true);
        Long assignee = b.id("assignee_id", false);
        String docNo = b.string("doc_no", false, 60);
        requireRow(c, "oa_user", "id", createdBy, "created_by");
        if (assignee == null) {
            assignee = createdBy;
        } else {
            requireRow(c, "oa_user", "id", assignee, "assignee_id");
        }
        long id = Database.scalarLong(c, "SELECT nextval(pg_get_serial_sequence('oa_document', 'id'))", List.of());
        if (docNo == null || docNo.isBlank()) {
            String prefix = switch (direction) {
                case "sent" -> "沪合发";
                case "internal" -> "沪合办";
                default -> "沪收";
            };
            docNo = prefix + "〔" + LocalDate.now(ZoneId.of(TZ)).getYear() + "〕" + id + "号";
        }
        Database.update(c,
                "INSERT INTO oa_document (id, doc_no, title, direction, urgency, created_by) VALUES (?, ?, ?, ?, ?, ?)",
                id, docNo, title, direction, urgency == null ? "normal" : urgency, createdBy);
        Database.update(c,
                "INSERT INTO oa_flow_step (document_id, step_no, step_name, assignee_id) VALUES (?, 1, '登记', ?)",
                id, assignee);
        return id;
    }

    @Override
    protected Map<String, Object> stats(Connection c, Params p) throws SQLException {
        return Json.obj(
                "documents", Database.scalarLong(c, "SELECT count(*) FROM oa_document", List.of()),
                "by_status", countBy(c, "oa_document", "status", "status"),
                "by_direction", countBy(c, "oa_document", "direction", "direction"),
                "by_year", Database.list(c,
                        "SELECT to_char(created_at AT TIME ZONE '" + TZ + "', 'YYYY') AS year, count(*) AS count, "
                                + "count(*) FILTER (WHERE direction = 'received') AS received, "
                                + "count(*) FILTER (WHERE direction = 'sent') AS sent "
                                + "FROM oa_document GROUP BY 1 ORDER BY 1"),
                "steps_by_status", countBy(c, "oa_flow_step", "status", "status"));
    }

    @Override
    protected boolean extra(String[] path, HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        if (path.length == 1 && path[0].equals("inbox")) {
            requireGet(req.getMethod(), resp);
            inbox(req, resp);
            return true;
        }
        if (path.length == 3 && path[0].equals("steps")
                && (path[2].equals("approve") || path[2].equals("forward"))) {
            requirePost(req.getMethod(), resp);
            long stepId = parseId(path[1]);
            Map<String, Object> body = readJsonObject(req);
            boolean forward = path[2].equals("forward");
            try (Connection c = Database.connect()) {
                Map<String, Object> result = Database.inTransaction(c, tx -> act(tx, stepId, forward, body));
                send(resp, 200, result); // after COMMIT
            }
            return true;
        }
        return false;
    }

    private void inbox(HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException {
        Params p = new Params(req);
        Long user = p.id("user");
        if (user == null) {
            throw ApiException.badRequest("parameter 'user' is required");
        }
        int page = p.page();
        int size = p.size();
        try (Connection c = Database.connect()) {
            if (!Database.exists(c, "SELECT 1 FROM oa_user WHERE id = ?", user)) {
                throw ApiException.notFound("user " + user + " not found");
            }
            Where w = new Where().add("s.assignee_id = ?", user).addAll("s.status = 'pending'", List.of());
            send(resp, 200, page(c,
                    "s.id, s.document_id, d.doc_no, d.title, d.urgency, s.step_no, s.step_name, s.created_at",
                    "FROM oa_flow_step s JOIN oa_document d ON d.id = s.document_id",
                    "FROM oa_flow_step s", w, " ORDER BY s.created_at DESC, s.id DESC", page, size));
        }
    }

    private Map<String, Object> act(Connection c, long stepId, boolean forward, Map<String, Object> m)
            throws ApiException, SQLException {
        Body b = body(m, "to_user", "comment", "step_name");
        Long toUser = b.id("to_user", forward);
        String comment = b.string("comment", false, 500);
        String stepName = b.string("step_name", false, 20);
        if (toUser != null) {
            requireRow(c, "oa_user", "id", toUser, "to_user");
        }
        String newStatus = forward ? "forwarded" : "approved";
        Map<String, Object> step = Database.one(c,
                "UPDATE oa_flow_step SET status = ?, acted_at = now(), comment = ? "
                        + "WHERE id = ? AND status = 'pending' RETURNING document_id, step_no",
                newStatus, comment == null ? (forward ? "请阅处" : "同意") : comment, stepId);
        if (step == null) {
            Map<String, Object> cur = Database.one(c, "SELECT status FROM oa_flow_step WHERE id = ?", stepId);
            if (cur == null) {
                throw ApiException.notFound("step " + stepId + " not found");
            }
            throw ApiException.conflict("step " + stepId + " is not pending").with("status", cur.get("status"));
        }
        long documentId = ((Number) step.get("document_id")).longValue();
        int stepNo = ((Number) step.get("step_no")).intValue();
        Long next = null;
        String documentStatus = "in_progress";
        if (toUser != null) {
            next = Database.insertReturningId(c,
                    "INSERT INTO oa_flow_step (document_id, step_no, step_name, assignee_id) "
                            + "VALUES (?, ?, ?, ?) RETURNING id",
                    documentId, stepNo + 1, stepName == null ? (forward ? "转办" : "审批") : stepName, toUser);
        } else {
            Database.update(c, "UPDATE oa_document SET status = 'completed', completed_at = now() "
                    + "WHERE id = ? AND status = 'in_progress'", documentId);
            documentStatus = "completed";
        }
        return Json.obj("id", stepId, "status", newStatus, "document_id", documentId,
                "document_status", documentStatus, "next_step_id", next);
    }
}
