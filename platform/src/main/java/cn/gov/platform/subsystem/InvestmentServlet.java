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
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** investment: district investment projects; amounts in 10,000 CNY (万元). */
public class InvestmentServlet extends SubsystemServlet {
    private static final long serialVersionUID = 1L;

    static final Set<String> DISTRICTS = Set.of("huangpu", "xuhui", "changning", "jingan", "putuo",
            "hongkou", "yangpu", "minhang", "baoshan", "jiading", "pudong", "jinshan", "songjiang",
            "qingpu", "fengxian", "chongming");
    static final Set<String> INDUSTRIES = Set.of("manufacturing", "it", "finance", "biomedicine",
            "logistics", "tourism", "agriculture", "culture", "energy", "real_estate");
    static final Set<String> STAGES = Set.of("intention", "negotiation", "signed", "construction", "operating");
    static final BigDecimal MAX_AMOUNT = new BigDecimal("999999999999.99");

    @Override
    public String slug() {
        return "investment";
    }

    @Override
    protected String healthTable() {
        return "investment_project";
    }

    @Override
    protected String listColumns() {
        return "p.id, p.title, p.district, d.name AS district_name, p.industry, p.stage, p.amount, "
                + "p.investor, p.signed_on, p.created_at";
    }

    @Override
    protected String from() {
        return "FROM investment_project p JOIN district d ON d.code = p.district";
    }

    @Override
    protected String countFrom() {
        return "FROM investment_project p";
    }

    @Override
    protected String idColumn() {
        return "p.id";
    }

    @Override
    protected Map<String, String> sortFields() {
        return Map.of("id", "p.id", "amount", "p.amount", "created_at", "p.created_at",
                "title", "p.title", "signed_on", "p.signed_on");
    }

    @Override
    protected void filters(Params p, Where w) throws ApiException {
        w.add("p.district = ?", p.oneOf("district", DISTRICTS));
        w.add("p.industry = ?", p.oneOf("industry", INDUSTRIES));
        w.add("p.stage = ?", p.oneOf("stage", STAGES));
        BigDecimal min = p.decimal("min_amount", BigDecimal.ZERO, MAX_AMOUNT);
        BigDecimal max = p.decimal("max_amount", BigDecimal.ZERO, MAX_AMOUNT);
        if (min != null && max != null && max.compareTo(min) < 0) {
            throw ApiException.badRequest("parameter 'max_amount' is below 'min_amount'");
        }
        w.add("p.amount >= ?", min);
        w.add("p.amount <= ?", max);
    }

    @Override
    protected List<String> searchColumns() {
        return List.of("p.title", "p.investor");
    }

    @Override
    protected long create(Connection c, Map<String, Object> m) throws ApiException, SQLException {
        Body b = body(m, "title", "district", "industry", "stage", "amount", "investor", "signed_on");
        String title = b.string("title", true, 200);
        String district = b.oneOf("district", true, DISTRICTS);
        String industry = b.oneOf("industry", true, INDUSTRIES);
        String stage = b.oneOf("stage", false, STAGES);
        BigDecimal amount = b.decimal("amount", true, BigDecimal.ZERO, MAX_AMOUNT, 2);
        String investor = b.string("investor", false, 200);
        LocalDate signedOn = b.date("signed_on", false);
        return Database.insertReturningId(c,
                "INSERT INTO investment_project (title, district, industry, stage, amount, investor, signed_on) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                title, district, industry, stage == null ? "intention" : stage, amount,
                investor == null ? "" : investor, signedOn);
    }

    @Override
    protected Map<String, Object> stats(Connection c, Params p) throws SQLException {
        Map<String, Object> totals = Database.one(c,
                "SELECT count(*) AS projects, coalesce(sum(amount), 0) AS amount FROM investment_project");
        return Json.obj(
                "total", totals.get("projects"),
                "total_amount", totals.get("amount"),
                "amount_unit", "10k CNY",
                "by_district", Database.list(c,
                        "SELECT d.code AS district, d.name AS district_name, count(p.id) AS count, "
                                + "coalesce(sum(p.amount), 0) AS amount FROM district d "
                                + "LEFT JOIN investment_project p ON p.district = d.code "
                                + "GROUP BY d.code, d.name ORDER BY d.code"),
                "by_industry", Database.list(c,
                        "SELECT industry, count(*) AS count, sum(amount) AS amount FROM investment_project "
                                + "GROUP BY industry ORDER BY industry"),
                "by_stage", Database.list(c,
                        "SELECT stage, count(*) AS count, sum(amount) AS amount FROM investment_project "
                                + "GROUP BY stage ORDER BY stage"));
    }
}
