package cn.gov.platform.web;

import cn.gov.platform.json.Json;
import cn.gov.platform.json.JsonException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Map;
import javax.naming.NamingException;

/**
 * Base servlet: every response, success or error, is JSON.
 *
 * <ul>
 *   <li>{@link ApiException} → its status and {@code {"error": ...}}</li>
 *   <li>{@link SQLException} of class 22 (bad data) → 400</li>
 *   <li>any other {@link SQLException} or a missing DataSource → 503, so an
 *       outage of the database shows as such</li>
 *   <li>anything else → 500</li>
 * </ul>
 */
public abstract class JsonServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    /** Largest accepted request body. */
    public static final int MAX_BODY_BYTES = 64 * 1024;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        try {
            handle(req, resp);
        } catch (ApiException e) {
            send(resp, e.status(), e.body());
        } catch (SQLException e) {
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            if (state.startsWith("22")) {
                send(resp, 400, Json.obj("error", "invalid value", "sqlstate", state));
            } else {
                log("database error on " + req.getMethod() + " " + req.getRequestURI()
                        + " (sqlstate " + state + ")", e);
                send(resp, 503, Json.obj("error", "database unavailable", "sqlstate", state));
            }
        } catch (NamingException e) {
            log("JNDI lookup failed", e);
            send(resp, 503, Json.obj("error", "datasource unavailable"));
        } catch (RuntimeException e) {
            log("internal error on " + req.getMethod() + " " + req.getRequestURI(), e);
            send(resp, 500, Json.obj("error", "internal error"));
        }
    }

    protected abstract void handle(HttpServletRequest req, HttpServletResponse resp)
            throws ApiException, SQLException, NamingException, IOException;

    public static void send(HttpServletResponse resp, int status, Object body) throws IOException {
        if (resp.isCommitted()) {
            return;
        }
        resp.resetBuffer();
        byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
        resp.setStatus(status);
        resp.setContentType("application/json;charset=UTF-8");
        resp.setHeader("Cache-Control", "no-store");
        resp.setContentLength(bytes.length);
        resp.getOutputStream().write(bytes);
    }

    public static ApiException methodNotAllowed(HttpServletResponse resp, String... allowed) {
        resp.setHeader("Allow", String.join(", ", allowed));
        return new ApiException(405, "method not allowed").with("allow", java.util.List.of(allowed));
    }

    /** Reads the request body as a JSON object; an empty body is an empty object. */
    public static Map<String, Object> readJsonObject(HttpServletRequest req)
            throws ApiException, IOException {
        String ct = req.getContentType();
        if (ct != null && !ct.toLowerCase(java.util.Locale.ROOT).contains("json")) {
            throw new ApiException(415, "Content-Type must be application/json");
        }
        byte[] raw = readBody(req.getInputStream());
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw ApiException.badRequest("request body is not valid UTF-8");
        }
        if (text.isBlank()) {
            return new java.util.LinkedHashMap<>();
        }
        Object v;
        try {
            v = Json.parse(text);
        } catch (JsonException e) {
            throw ApiException.badRequest("malformed JSON: " + e.getMessage());
        }
        if (!(v instanceof Map<?, ?>)) {
            throw ApiException.badRequest("request body must be a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) v;
        return m;
    }

    private static byte[] readBody(InputStream in) throws IOException, ApiException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) != -1) {
            out.write(buf, 0, n);
            if (out.size() > MAX_BODY_BYTES) {
                throw new ApiException(413, "request body larger than " + MAX_BODY_BYTES + " bytes");
            }
        }
        return out.toByteArray();
    }

    /** Path segments of getPathInfo(), without empty ones: "/items/5/" → [items, 5]. */
    public static String[] segments(HttpServletRequest req) {
        String p = req.getPathInfo();
        if (p == null) {
            return new String[0];
        }
        return java.util.Arrays.stream(p.split("/")).filter(s -> !s.isEmpty()).toArray(String[]::new);
    }

    public static long parseId(String s) throws ApiException {
        if (s.length() > 18 || !s.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            throw ApiException.badRequest("invalid id '" + s + "'");
        }
        long v = Long.parseLong(s);
        if (v < 1) {
            throw ApiException.badRequest("invalid id '" + s + "'");
        }
        return v;
    }
}
