package cn.gov.platform.subsystem;

import cn.gov.platform.db.Database;
import cn.gov.platform.db.Where;
import cn.gov.platform.json.Json;
import cn.gov.platform.web.ApiException;
import cn.gov.platform.web.Body;
import cn.gov.platform.web.Params;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** reporting: periodic statistical submissions, one value per unit, month and indicator. */
public class ReportingServlet extends SubsystemServlet {
    private static final long serialVersionUID = 1L;

    static final Pattern PERIOD = Pattern.compile("[0-9]{4}-(0[1-9]|1[0-2])");
    static final Pattern INDICATOR = Pattern.compile("[A-Z][A-Z0-9_]{0,39}");
    static final Set<String> STATUSES = Set.of("submitted", "accepted", "returned");
    static final BigDecimal MAX_VALUE = new BigDecimal("9999999999999999.99");
    /** How many units /stats lists (the busiest first). */
    static final int STATS_UNITS = 50;

    @Override
    public String slug() {
        return "reporting";
    }

    @Override
    protected String healthTable() {
        return "reporting_submission";
    }

    @Override
    protected String listColumns() {
        return "s.id, s.unit_id, u.name AS unit_name, s.period, s.indicator, i.name AS indicator_name, "
                + "i.unit AS indicator_unit, s.value, s.status, s.remark, s.submitted_at";
    }

    @Override
    protected String from() {
        return "FROM reporting_submission s JOIN reporting_unit u ON u.id = s.unit_id "
                + "JOIN reporting_indicator i ON i.code = s.indicator";
    }

    @Override
    protected String countFrom() {
        return "FROM reporting_submission s";
    }

    @Override
    protected String idColumn() {
        return "s.id";
    }

    @Override
    protected Map<String, String> sortFields() {
        return Map.of("id", "s.id", "period", "s.period", "value", "s.value",
                "submitted_at", "s.submitted_at", "unit_id", "s.unit_id");
    }

    @Override
    protected void filters(Params p, Where w) throws ApiException {
        w.add("s.period = ?", p.matching("period", PERIOD, "a month YYYY-MM"));
        w.add("s.unit_id = ?", p.id("unit_id"));
        w.add("s.indicator = ?", p.matching("indicator", INDICATOR, "an indicator code like GDP_M"));
        w.add("s.status = ?", p.oneOf("status", STATUSES));
    }

    @Override
    protected List<String> searchColumns() {
        return List.of("u.name", "i.name", "s.remark");
    }

    /**
     * Match the small dimension tables first, then filter submissions by key (no 1M-row join).
     * The keys come as arrays (= ANY (ARRAY(...)), computed once) rather than IN (subquery), so
     * the planner can OR index scans on unit_id, indicator and remark (platform/sql/indexes).
     * "remark <> ''" lets it use the partial index of the few rows with a remark; it changes
     * no result (an empty keyword matches every unit name, hence every row, anyway).
     */
    @Override
    protected List<String> searchConditions() {
        return List.of("s.unit_id = ANY (ARRAY(SELECT id FROM reporting_unit WHERE name ILIKE ?))",
                "s.indicator = ANY (ARRAY(SELECT code FROM reporting_indicator WHERE name ILIKE ?))",
                "(s.remark <> '' AND s.remark ILIKE ?)");
    }

    @Override
    protected String searchCountFrom() {
        return countFrom();
    }

    @Override
    protected long create(Connection c, Map<String, Object> m) throws ApiException, SQLException {
        Body b = body(m, "unit_id", "period", "indicator", "value", "remark");
        long unit = b.id("unit_id", true);
        String period = b.string("period", true, 7);
        if (!PERIOD.matcher(period).matches()) {
            throw ApiException.badRequest("field 'period' must be a month YYYY-MM");
        }
        String indicator = b.string("indicator", true, 40);
        BigDecimal value = b.decimal("value", true, MAX_VALUE.negate(), MAX_VALUE, 2);
        String remark = b.string("remark", false, 500);
        requireRow(c, "reporting_unit", "id", unit, "unit_id");
        requireRow(c, "reporting_indicator", "code", indicator, "indicator");
        return Database.insertReturningId(c,
                "INSERT INTO reporting_submission (unit_id, period, indicator, value, remark) "
                        + "VALUES (?, ?, ?, ?, ?) RETURNING id",
                unit, period, indicator, value, remark == null ? "" : remark);
    }

    /**
     * Aggregates by period, by unit and by status (GROUPING SETS),
     * optionally restricted by period, unit_id and indicator.
     */
    @Override
    protected Map<String, Object> stats(Connection c, Params p) throws ApiException, SQLException {
        Where w = new Where();
        w.add("s.period = ?", p.matching("period", PERIOD, "a month YYYY-MM"));
        w.add("s.unit_id = ?", p.id("unit_id"));
        w.add("s.indicator = ?", p.matching("indicator", INDICATOR, "an indicator code like GDP_M"));
        // One hashed pass over the submissions to (period, unit, status) groups,
        // then the grouping sets over that small result.
        List<Map<String, Object>> rows = Database.list(c,
                "SELECT GROUPING(t.period) AS g_period, GROUPING(t.unit_id) AS g_unit, "
                        + "GROUPING(t.status) AS g_status, t.period, t.unit_id, t.status, "
                        + "coalesce(sum(t.n), 0)::bigint AS count, count(DISTINCT t.unit_id) AS units, "
                        + "coalesce(sum(t.v), 0) AS value FROM ("
                        + "SELECT s.period, s.unit_id, s.status, count(*) AS n, sum(s.value) AS v "
                        + "FROM reporting_submission s" + w.sql() + " GROUP BY s.period, s.unit_id, s.status) t "
                        + "GROUP BY GROUPING SETS ((t.period), (t.unit_id), (t.status), ())",
                w.params());
        long total = 0;
        Object totalValue = BigDecimal.ZERO;
        List<Map<String, Object>> byPeriod = new ArrayList<>();
        List<Map<String, Object>> byUnit = new ArrayList<>();
        List<Map<String, Object>> byStatus = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            boolean period = ((Number) r.get("g_period")).intValue() == 0;
            boolean unit = ((Number) r.get("g_unit")).intValue() == 0;
            boolean status = ((Number) r.get("g_status")).intValue() == 0;
            if (period) {
                byPeriod.add(Json.obj("period", r.get("period"), "count", r.get("count"),
                        "units", r.get("units"), "value", r.get("value")));
            } else if (unit) {
                byUnit.add(Json.obj("unit_id", r.get("unit_id"), "count", r.get("count"), "value", r.get("value")));
            } else if (status) {
                byStatus.add(Json.obj("status", r.get("status"), "count", r.get("count")));
            } else {
                total = ((Number) r.get("count")).longValue();
                totalValue = r.get("value");
            }
        }
        byPeriod.sort(Comparator.comparing(r -> (String) r.get("period")));
        byStatus.sort(Comparator.comparing(r -> (String) r.get("status")));
        byUnit.sort(Comparator.comparing((Map<String, Object> r) -> ((Number) r.get("count")).longValue())
                .reversed()
                .thenComparing(r -> ((Number) r.get("unit_id")).longValue()));
        int unitCount = byUnit.size();
        if (byUnit.size() > STATS_UNITS) {
            byUnit = new ArrayList<>(byUnit.subList(0, STATS_UNITS));
        }
        nameUnits(c, byUnit);
        return Json.obj("total", total, "total_value", totalValue, "units", unitCount,
                "by_period", byPeriod, "by_unit", byUnit, "by_status", byStatus);
    }

    private static void nameUnits(Connection c, List<Map<String, Object>> byUnit) throws SQLException {
        if (byUnit.isEmpty()) {
            return;
        }
        Object[] ids = byUnit.stream().map(r -> r.get("unit_id")).toArray();
        java.sql.Array arr = c.createArrayOf("integer", ids);
        try {
            Map<Object, Object> names = new java.util.HashMap<>();
            for (Map<String, Object> r : Database.list(c,
                    "SELECT id, name FROM reporting_unit WHERE id = ANY (?)", List.of(arr))) {
                names.put(r.get("id"), r.get("name"));
            }
            for (Map<String, Object> r : byUnit) {
                r.put("unit_name", names.get(r.get("unit_id")));
            }
        } finally {
            arr.free();
        }
    }
}
