package cn.gov.platform.web;

import cn.gov.platform.json.Json;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/** The context's error page: errors raised by the container itself are JSON too. */
public class ErrorServlet extends JsonServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void handle(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Object code = req.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        if (code == null) { // requested directly, not as an error page
            send(resp, 404, Json.obj("error", "no such endpoint: " + req.getRequestURI()));
            return;
        }
        int status = code instanceof Integer i && i >= 400 ? i : 500;
        Object msg = req.getAttribute(RequestDispatcher.ERROR_MESSAGE);
        String text = msg == null || msg.toString().isEmpty() ? "error" : msg.toString();
        send(resp, status, Json.obj("error", status >= 500 ? "internal error" : text, "status", status));
    }
}
