package cn.gov.platform.web;

import cn.gov.platform.db.Database;
import cn.gov.platform.json.Json;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import javax.naming.NamingException;

/** GET /health: a database round trip; 503 with the error when the database is unreachable. */
public class HealthServlet extends JsonServlet {
    private static final long serialVersionUID = 1L;

    public static final List<String> SUBSYSTEMS =
            List.of("sharing", "intake", "investment", "publishing", "reporting", "oa");

    @Override
    protected void handle(HttpServletRequest req, HttpServletResponse resp) throws ApiException, IOException {
        if (!req.getMethod().equals("GET")) {
            throw methodNotAllowed(resp, "GET");
        }
        try (Connection c = Database.connect()) {
            Database.scalarLong(c, "SELECT 1", List.of());
            send(resp, 200, Json.obj("status", "ok", "db", "ok", "subsystems", SUBSYSTEMS));
        } catch (SQLException | NamingException e) {
            log("health check failed", e);
            send(resp, 503, Json.obj("status", "error", "db", "error",
                    "error", e.getClass().getSimpleName() + ": " + e.getMessage(), "subsystems", SUBSYSTEMS));
        }
    }
}
