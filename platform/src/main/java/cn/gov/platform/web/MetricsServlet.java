package cn.gov.platform.web;

import cn.gov.platform.db.Database;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.util.Locale;
import java.util.Set;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.sql.DataSource;

/**
 * GET /metrics: the JVM's and Tomcat's figures in Prometheus's text format (version 0.0.4).
 *
 * <p>Answers only on Tomcat's metrics connector, whose port the context parameter
 * {@code platform.metrics.port} names (the tomcat role writes it into ROOT.xml): a request that
 * arrives on any other connector (the one nginx proxies to) gets a 404, as if the path did not
 * exist, so the figures never leave through nginx; the firewall admits only the ops hosts to the
 * metrics port.
 *
 * <p>Heap used/committed/max, heap left after the last collection (the old-generation pools'
 * collection usage), each collector's count and seconds, threads (live, daemon, peak), Tomcat's
 * connector thread pools (busy, current, max) and the JDBC pool (active, idle, max total).
 */
public class MetricsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    public static final String PORT_PARAMETER = "platform.metrics.port";

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String port = getServletContext().getInitParameter(PORT_PARAMETER);
        if (port == null || port.isBlank() || "0".equals(port.trim())
                || !String.valueOf(req.getLocalPort()).equals(port.trim())) {
            resp.sendError(HttpServletResponse.SC_NOT_FOUND);
            return;
        }
        resp.setContentType("text/plain; version=0.0.4; charset=utf-8");
        resp.setHeader("Cache-Control", "no-store");
        StringBuilder out = new StringBuilder(4096);
        jvm(out);
        tomcat(out);
        pool(out);
        try (PrintWriter w = resp.getWriter()) {
            w.write(out.toString());
        }
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, String labels, double value) {
        out.append(name);
        if (labels != null && !labels.isEmpty()) {
            out.append('{').append(labels).append('}');
        }
        out.append(' ').append(format(value)).append('\n');
    }

    private static String format(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return String.valueOf((long) v);
        }
        return String.format(Locale.ROOT, "%.6f", v);
    }

    private static String label(String key, String value) {
        return key + "=\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    private static void jvm(StringBuilder out) {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        MemoryUsage heap = memory.getHeapMemoryUsage();
        header(out, "jvm_memory_heap_bytes", "gauge", "Heap memory: used, committed and max.");
        sample(out, "jvm_memory_heap_bytes", label("area", "used"), heap.getUsed());
        sample(out, "jvm_memory_heap_bytes", label("area", "committed"), heap.getCommitted());
        sample(out, "jvm_memory_heap_bytes", label("area", "max"), heap.getMax());

        // Heap left after the last collection: the collection usage of the heap pools that
        // survive collections (old generation); young pools are empty after a collection.
        long afterGc = 0;
        long oldMax = 0;
        boolean found = false;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() != MemoryType.HEAP || !pool.isValid()) {
                continue;
            }
            String name = pool.getName().toLowerCase(Locale.ROOT);
            MemoryUsage collected = pool.getCollectionUsage();
            if (collected != null && (name.contains("old") || name.contains("tenured"))) {
                afterGc += collected.getUsed();
                oldMax += Math.max(0, collected.getMax());
                found = true;
            }
        }
        header(out, "jvm_memory_heap_after_gc_bytes", "gauge",
                "Old-generation heap in use after the last collection, and its max.");
        sample(out, "jvm_memory_heap_after_gc_bytes", label("area", "used"), found ? afterGc : Double.NaN);
        sample(out, "jvm_memory_heap_after_gc_bytes", label("area", "max"), found ? oldMax : Double.NaN);

        header(out, "jvm_gc_collections_total", "counter", "Collections per collector.");
        StringBuilder seconds = new StringBuilder();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            String l = label("gc", gc.getName());
            sample(out, "jvm_gc_collections_total", l, Math.max(0, gc.getCollectionCount()));
            sample(seconds, "jvm_gc_collection_seconds_total", l, Math.max(0, gc.getCollectionTime()) / 1000.0);
        }
        header(out, "jvm_gc_collection_seconds_total", "counter", "Time spent in collections per collector.");
        out.append(seconds);

        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        header(out, "jvm_threads", "gauge", "JVM threads: live, daemon and peak.");
        sample(out, "jvm_threads", label("state", "live"), threads.getThreadCount());
        sample(out, "jvm_threads", label("state", "daemon"), threads.getDaemonThreadCount());
        sample(out, "jvm_threads", label("state", "peak"), threads.getPeakThreadCount());

        header(out, "jvm_uptime_seconds", "gauge", "Seconds since the JVM started.");
        sample(out, "jvm_uptime_seconds", "", ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0);
    }

    private static void tomcat(StringBuilder out) {
        header(out, "tomcat_threadpool_threads", "gauge", "Connector thread pools: busy, current and max threads.");
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            Set<ObjectName> names = server.queryNames(new ObjectName("Catalina:type=ThreadPool,*"), null);
            for (ObjectName name : names) {
                String pool = name.getKeyProperty("name").replace("\"", "");
                for (String[] attr : new String[][] {
                        {"currentThreadsBusy", "busy"}, {"currentThreadCount", "current"}, {"maxThreads", "max"}}) {
                    Object v = server.getAttribute(name, attr[0]);
                    if (v instanceof Number n) {
                        sample(out, "tomcat_threadpool_threads", label("pool", pool) + "," + label("state", attr[1]),
                                n.doubleValue());
                    }
                }
            }
        } catch (Exception e) { // JMX unavailable: the series are simply absent
            out.append("# tomcat thread pools unavailable: ").append(e.getClass().getSimpleName()).append('\n');
        }
    }

    private static void pool(StringBuilder out) {
        header(out, "platform_jdbc_pool_connections", "gauge",
                "The JNDI DataSource's pool: active (in use), idle and max total connections.");
        double up = 0;
        try {
            DataSource ds = Database.dataSource();
            for (String[] attr : new String[][] {{"getNumActive", "active"}, {"getNumIdle", "idle"},
                    {"getMaxTotal", "max"}}) {
                Method m = ds.getClass().getMethod(attr[0]);
                Object v = m.invoke(ds);
                if (v instanceof Number n) {
                    sample(out, "platform_jdbc_pool_connections", label("state", attr[1]), n.doubleValue());
                    up = 1;
                }
            }
        } catch (Exception e) { // no pool yet or not a DBCP pool
            out.append("# jdbc pool unavailable: ").append(e.getClass().getSimpleName()).append('\n');
        }
        header(out, "platform_jdbc_pool_readable", "gauge", "1 when the pool's figures could be read.");
        sample(out, "platform_jdbc_pool_readable", "", up);
    }
}
