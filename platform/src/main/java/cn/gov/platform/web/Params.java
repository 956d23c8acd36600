package cn.gov.platform.web;

import jakarta.servlet.http.HttpServletRequest;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Validated access to query-string parameters; every bad value is a 400. */
public final class Params {
    public static final int DEFAULT_SIZE = 20;
    public static final int MAX_SIZE = 100;
    public static final int MAX_PAGE = 100_000;
    public static final int MAX_QUERY_CHARS = 100;

    private final HttpServletRequest req;

    public Params(HttpServletRequest req) {
        this.req = req;
    }

    /** The single value of a parameter, null if absent or empty; repeated → 400. */
    public String get(String name) throws ApiException {
        String[] v = req.getParameterValues(name);
        if (v == null || v.length == 0) {
            return null;
        }
        if (v.length > 1) {
            throw ApiException.badRequest("parameter '" + name + "' given more than once");
        }
        String s = v[0].trim();
        return s.isEmpty() ? null : s;
    }

    public int page() throws ApiException {
        Long p = longValue("page", 1, MAX_PAGE);
        return p == null ? 1 : p.intValue();
    }

    /** Page size: default 20; values above 100 are capped to 100; below 1 → 400. */
    public int size() throws ApiException {
        String s = get("size");
        if (s == null) {
            return DEFAULT_SIZE;
        }
        long v = parseLong("size", s);
        if (v < 1) {
            throw ApiException.badRequest("parameter 'size' must be >= 1");
        }
        return (int) Math.min(v, MAX_SIZE);
    }

    public Long longValue(String name, long min, long max) throws ApiException {
        String s = get(name);
        if (s == null) {
            return null;
        }
        long v = parseLong(name, s);
        if (v < min || v > max) {
            throw ApiException.badRequest("parameter '" + name + "' must be between " + min + " and " + max);
        }
        return v;
    }

    /** A positive id (1 .. 2^53). */
    public Long id(String name) throws ApiException {
        return longValue(name, 1, 9_007_199_254_740_992L);
    }

    private static long parseLong(String name, String s) throws ApiException {
        if (s.length() > 18 || !s.matches("-?[0-9]+")) {
            throw ApiException.badRequest("parameter '" + name + "' must be an integer");
        }
        return Long.parseLong(s);
    }

    public String oneOf(String name, Set<String> allowed) throws ApiException {
        String s = get(name);
        if (s != null && !allowed.contains(s)) {
            throw ApiException.badRequest("parameter '" + name + "' must be one of "
                    + String.join(", ", new java.util.TreeSet<>(allowed)));
        }
        return s;
    }

    public String matching(String name, Pattern p, String what) throws ApiException {
        String s = get(name);
        if (s != null && !p.matcher(s).matches()) {
            throw ApiException.badRequest("parameter '" + name + "' must be " + what);
        }
        return s;
    }

    public LocalDate date(String name) throws ApiException {
        String s = get(name);
        if (s == null) {
            return null;
        }
        try {
            LocalDate d = LocalDate.parse(s);
            if (d.getYear() < 1900 || d.getYear() > 2999) {
                throw ApiException.badRequest("parameter '" + name + "' is out of range");
            }
            return d;
        } catch (DateTimeParseException e) {
            throw ApiException.badRequest("parameter '" + name + "' must be a date YYYY-MM-DD");
        }
    }

    public BigDecimal decimal(String name, BigDecimal min, BigDecimal max) throws ApiException {
        String s = get(name);
        if (s == null) {
            return null;
        }
        if (s.length() > 30 || !s.matches("-?[0-9]+(\\.[0-9]+)?")) {
            throw ApiException.badRequest("parameter '" + name + "' must be a decimal number");
        }
        BigDecimal v = new BigDecimal(s);
        if (v.compareTo(min) < 0 || v.compareTo(max) > 0) {
            throw ApiException.badRequest("parameter '" + name + "' must be between "
                    + min.toPlainString() + " and " + max.toPlainString());
        }
        return v;
    }

    /** Search keyword: required, 1..100 characters after trimming. */
    public String keyword() throws ApiException {
        String q = get("q");
        if (q == null) {
            throw ApiException.badRequest("parameter 'q' is required");
        }
        if (q.length() > MAX_QUERY_CHARS) {
            throw ApiException.badRequest("parameter 'q' must be at most " + MAX_QUERY_CHARS + " characters");
        }
        return q;
    }

    /**
     * ORDER BY clause from {@code sort=field[,asc|desc]} with the field looked
     * up in a whitelist (param name → SQL expression). Ties are broken by the
     * primary key so pages are stable.
     */
    public String orderBy(Map<String, String> whitelist, String idExpr, String defaultSort)
            throws ApiException {
        String s = get("sort");
        if (s == null) {
            s = defaultSort;
        }
        String[] parts = s.split(",", -1);
        if (parts.length > 2) {
            throw ApiException.badRequest("parameter 'sort' must be field[,asc|desc]");
        }
        String field = parts[0].trim();
        String expr = whitelist.get(field);
        if (expr == null) {
            throw ApiException.badRequest("cannot sort by '" + field + "'; allowed: "
                    + String.join(", ", new java.util.TreeSet<>(whitelist.keySet())));
        }
        String dir = "ASC";
        if (parts.length == 2) {
            String d = parts[1].trim().toLowerCase(java.util.Locale.ROOT);
            if (d.equals("desc")) {
                dir = "DESC";
            } else if (!d.equals("asc")) {
                throw ApiException.badRequest("sort direction must be asc or desc");
            }
        }
        if (expr.equals(idExpr)) {
            return " ORDER BY " + expr + " " + dir;
        }
        return " ORDER BY " + expr + " " + dir + ", " + idExpr + " " + dir;
    }

    /** Escapes LIKE wildcards and wraps in %...% (backslash is PostgreSQL's default escape). */
    public static String likePattern(String q) {
        return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
    }
}
