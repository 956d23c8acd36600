package cn.gov.platform.web;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Validated access to a JSON request body. Unknown keys are rejected, so a
 * misspelt field is a 400 rather than a silently ignored value.
 */
public final class Body {
    private final Map<String, Object> m;

    public Body(Map<String, Object> m, Set<String> allowedKeys) throws ApiException {
        this.m = m;
        for (String k : m.keySet()) {
            if (!allowedKeys.contains(k)) {
                throw ApiException.badRequest("unknown field '" + k + "'; allowed: "
                        + String.join(", ", new TreeSet<>(allowedKeys)));
            }
        }
    }

    private Object raw(String key, boolean required) throws ApiException {
        Object v = m.get(key);
        if (v == null && required) {
            throw ApiException.badRequest("field '" + key + "' is required");
        }
        return v;
    }

    public String string(String key, boolean required, int maxLen) throws ApiException {
        Object v = raw(key, required);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw ApiException.badRequest("field '" + key + "' must be a string");
        }
        if (required && s.isBlank()) {
            throw ApiException.badRequest("field '" + key + "' must not be blank");
        }
        if (s.codePointCount(0, s.length()) > maxLen) {
            throw ApiException.badRequest("field '" + key + "' must be at most " + maxLen + " characters");
        }
        if (s.indexOf('\0') >= 0) {
            throw ApiException.badRequest("field '" + key + "' must not contain NUL");
        }
        return s;
    }

    public String oneOf(String key, boolean required, Set<String> allowed) throws ApiException {
        String s = string(key, required, 100);
        if (s != null && !allowed.contains(s)) {
            throw ApiException.badRequest("field '" + key + "' must be one of "
                    + String.join(", ", new TreeSet<>(allowed)));
        }
        return s;
    }

    /** A positive integer id. */
    public Long id(String key, boolean required) throws ApiException {
        Object v = raw(key, required);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Long l) || l < 1 || l > 9_007_199_254_740_992L) {
            throw ApiException.badRequest("field '" + key + "' must be a positive integer");
        }
        return l;
    }

    public BigDecimal decimal(String key, boolean required, BigDecimal min, BigDecimal max, int scale)
            throws ApiException {
        Object v = raw(key, required);
        if (v == null) {
            return null;
        }
        BigDecimal d;
        if (v instanceof Long l) {
            d = BigDecimal.valueOf(l);
        } else if (v instanceof BigDecimal b) {
            d = b;
        } else {
            throw ApiException.badRequest("field '" + key + "' must be a number");
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw ApiException.badRequest("field '" + key + "' must be between "
                    + min.toPlainString() + " and " + max.toPlainString());
        }
        if (d.stripTrailingZeros().scale() > scale) {
            throw ApiException.badRequest("field '" + key + "' has more than " + scale + " decimal places");
        }
        return d;
    }

    public LocalDate date(String key, boolean required) throws ApiException {
        String s = string(key, required, 10);
        if (s == null) {
            return null;
        }
        try {
            LocalDate d = LocalDate.parse(s);
            if (d.getYear() < 1900 || d.getYear() > 2999) {
                throw ApiException.badRequest("field '" + key + "' is out of range");
            }
            return d;
        } catch (DateTimeParseException e) {
            throw ApiException.badRequest("field '" + key + "' must be a date YYYY-MM-DD");
        }
    }
}
