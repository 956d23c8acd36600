package cn.gov.platform.db;

import java.util.ArrayList;
import java.util.List;

/** AND-ed WHERE conditions with their bind parameters. SQL text is never built from input. */
public final class Where {
    private final List<String> conditions = new ArrayList<>();
    private final List<Object> params = new ArrayList<>();

    /** Adds a condition with '?' placeholders, unless its single value is null. */
    public Where add(String condition, Object value) {
        if (value != null) {
            conditions.add(condition);
            params.add(value);
        }
        return this;
    }

    public Where addAll(String condition, List<?> values) {
        conditions.add(condition);
        params.addAll(values);
        return this;
    }

    public String sql() {
        return conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions);
    }

    public List<Object> params() {
        return params;
    }
}
