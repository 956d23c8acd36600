package cn.gov.platform.web;

import java.util.LinkedHashMap;
import java.util.Map;

/** An error with an HTTP status that is reported to the client as JSON. */
public class ApiException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final transient Map<String, Object> extra = new LinkedHashMap<>();

    public ApiException(int status, String message) {
        super(message);
        this.status = status;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, message);
    }

    public static ApiException conflict(String message) {
        return new ApiException(409, message);
    }

    public ApiException with(String key, Object value) {
        extra.put(key, value);
        return this;
    }

    public int status() {
        return status;
    }

    public Map<String, Object> body() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", getMessage());
        m.putAll(extra);
        return m;
    }
}
