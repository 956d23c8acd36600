package cn.gov.platform.web;

import cn.gov.platform.json.Json;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;

/**
 * Mapped to "/" (replaces the default servlet, the platform serves no static
 * files): GET / describes the API, every other unmapped path is a JSON 404.
 */
public class RootServlet extends JsonServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void handle(HttpServletRequest req, HttpServletResponse resp) throws ApiException, IOException {
        String path = req.getServletPath() + (req.getPathInfo() == null ? "" : req.getPathInfo());
        if (!path.equals("/") && !path.isEmpty()) {
            throw ApiException.notFound("no such endpoint: " + req.getRequestURI());
        }
        if (!req.getMethod().equals("GET")) {
            throw methodNotAllowed(resp, "GET");
        }
        List<String> apis = HealthServlet.SUBSYSTEMS.stream().map(s -> "/api/" + s + "/").toList();
        send(resp, 200, Json.obj("service", "合作交流综合信息服务平台 integrated information service platform",
                "health", "/health", "subsystems", apis));
    }
}
