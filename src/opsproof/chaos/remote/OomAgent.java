// A memory leak injected into a running JVM through the JDK attach API (experiment jvm-oom):
// a daemon thread keeps 8 MB arrays until the heap is exhausted and the JVM throws
// OutOfMemoryError. The JVM's own flags then act: -XX:+HeapDumpOnOutOfMemoryError writes the
// dump, -XX:+ExitOnOutOfMemoryError ends the process, systemd (Restart=on-failure) restarts it.
import java.util.ArrayList;
import java.util.List;

public final class OomAgent {
    private static final List<byte[]> HOG = new ArrayList<>();

    private OomAgent() {}

    public static void agentmain(String args) {
        Thread leak = new Thread(() -> {
            while (true) {
                HOG.add(new byte[8 << 20]);
            }
        }, "opsproof-chaos-oom");
        leak.setDaemon(true);
        leak.start();
    }
}
