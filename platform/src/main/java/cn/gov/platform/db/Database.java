package cn.gov.platform.db;

import cn.gov.platform.web.ApiException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.naming.InitialContext;
import javax.naming.NamingException;
import javax.sql.DataSource;

/**
 * JDBC access through the container's JNDI DataSource
 * {@code java:comp/env/jdbc/platform}. PreparedStatements only; rows are
 * mapped to ordered maps keyed by column label.
 */
public final class Database {
    public static final String JNDI_NAME = "java:comp/env/jdbc/platform";
    /** Per-statement timeout, seconds: a stuck query becomes a 503, not a hung thread. */
    public static final int QUERY_TIMEOUT_SECONDS = 30;

    private static volatile DataSource dataSource;

    private Database() {
    }

    public static DataSource dataSource() throws NamingException {
        DataSource ds = dataSource;
        if (ds == null) {
            InitialContext ctx = new InitialContext();
            try {
                ds = (DataSource) ctx.lookup(JNDI_NAME);
            } finally {
                ctx.close();
            }
            dataSource = ds;
        }
        return ds;
    }

    public static Connection connect() throws NamingException, SQLException {
        return dataSource().getConnection();
    }

    public static PreparedStatement prepare(Connection c, String sql, List<?> params) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        try {
            ps.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
            for (int i = 0; i < params.size(); i++) {
                ps.setObject(i + 1, params.get(i));
            }
        } catch (SQLException | RuntimeException e) {
            ps.close();
            throw e;
        }
        return ps;
    }

    public static List<Map<String, Object>> list(Connection c, String sql, Object... params) throws SQLException {
        return list(c, sql, List.of(params));
    }

    public static List<Map<String, Object>> list(Connection c, String sql, List<?> params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            List<Map<String, Object>> out = new ArrayList<>();
            while (rs.next()) {
                out.add(row(rs));
            }
            return out;
        }
    }

    /** The single row, or null. */
    public static Map<String, Object> one(Connection c, String sql, Object... params) throws SQLException {
        List<Map<String, Object>> l = list(c, sql, List.of(params));
        return l.isEmpty() ? null : l.get(0);
    }

    public static long scalarLong(Connection c, String sql, List<?> params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                throw new SQLException("query returned no row: " + sql);
            }
            return rs.getLong(1);
        }
    }

    public static int update(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, List.of(params))) {
            return ps.executeUpdate();
        }
    }

    /** Runs an INSERT ... RETURNING id and returns the id. */
    public static long insertReturningId(Connection c, String sql, Object... params) throws SQLException {
        return scalarLong(c, sql, java.util.Arrays.asList(params));
    }

    public static boolean exists(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, java.util.Arrays.asList(params));
             ResultSet rs = ps.executeQuery()) {
            return rs.next();
        }
    }

    public static Map<String, Object> row(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            m.put(md.getColumnLabel(i), value(rs, md, i));
        }
        return m;
    }

    private static Object value(ResultSet rs, ResultSetMetaData md, int i) throws SQLException {
        Object v;
        switch (md.getColumnType(i)) {
            case Types.BIGINT -> v = rs.getLong(i);
            case Types.INTEGER, Types.SMALLINT, Types.TINYINT -> v = rs.getInt(i);
            case Types.NUMERIC, Types.DECIMAL -> v = rs.getBigDecimal(i);
            case Types.BOOLEAN, Types.BIT -> v = rs.getBoolean(i);
            case Types.DATE -> v = rs.getObject(i, LocalDate.class);
            case Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE -> {
                if ("timestamptz".equalsIgnoreCase(md.getColumnTypeName(i))) {
                    v = rs.getObject(i, OffsetDateTime.class);
                } else {
                    v = rs.getString(i);
                }
            }
            case Types.DOUBLE, Types.FLOAT, Types.REAL -> v = rs.getDouble(i);
            default -> v = rs.getString(i);
        }
        return rs.wasNull() ? null : v;
    }

    /** Runs work in one transaction: autocommit off, commit on success, rollback otherwise. */
    public static <T> T inTransaction(Connection c, Work<T> work) throws ApiException, SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            T result = work.run(c);
            c.commit();
            return result;
        } catch (ApiException | SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException re) {
                e.addSuppressed(re);
            }
            throw e;
        } finally {
            try {
                c.setAutoCommit(auto);
            } catch (SQLException ignored) {
                // the pool validates/discards broken connections
            }
        }
    }

    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws ApiException, SQLException;
    }
}
