"""Memory exhaustion in the Tomcat JVM: OutOfMemoryError, heap dump, restart.

No endpoint of the product allocates on request (a diagnostic servlet would be an attack
surface on a government platform). Instead the experiment does what a leak does: it loads a
20-line agent (remote/OomAgent.java, compiled here with the machine's javac) into the running
JVM through the JDK attach API (remote/jvm_attach.py, the protocol jcmd speaks), and the agent
keeps allocating until the heap is exhausted. Everything after that is the platform's own
configuration (roles/tomcat): -XX:+HeapDumpOnOutOfMemoryError, -XX:+ExitOnOutOfMemoryError,
Restart=on-failure.
"""

from __future__ import annotations

import base64
import shlex
import shutil
import subprocess
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from opsproof import placement
from opsproof.chaos import context
from opsproof.chaos.faults_process import SERVICE_RESIDUES, main_pid, restart_count
from opsproof.chaos.residue import Residue, clear_or_fail, file_residue
from opsproof.errors import OpsproofError, PreconditionError

JVM_GROUP = placement.group_of("tomcat")  # the hosts that run the JVM (playbooks/site.yml)
JAR_IN_JVM = "/tmp/opsproof-chaos-oom.jar"
ATTACHER = "/run/opsproof-chaos-jvm-attach.py"
# The running JVM's view of JAR_IN_JVM (its /tmp is private under PrivateTmp=yes).
_JVM_JAR = (
    'pid=$(systemctl show -p MainPID --value tomcat10); j=/proc/"${pid:-0}"/root' + JAR_IN_JVM
)

# What the heap exhaustion can leave behind (opsproof.chaos.residue). Heap dumps are not
# on the list: one written by a real OutOfMemoryError is evidence an operator needs.
RESIDUES: dict[str, tuple[Residue, ...]] = {
    "exhaust_heap": (
        file_residue(
            "oom-attacher", f"the JVM attach helper {ATTACHER}", ATTACHER, groups=(JVM_GROUP,)
        ),
        Residue(
            name="oom-agent-jar",
            what=f"the OOM agent's jar {JAR_IN_JVM} in the JVM's /tmp (or the host's)",
            detect=f'{_JVM_JAR}; [ -e "$j" ] || [ -e {JAR_IN_JVM} ]',
            remove=f'{_JVM_JAR}; [ "${{pid:-0}}" -gt 0 ] && rm -f "$j"; rm -f {JAR_IN_JVM}',
            groups=(JVM_GROUP,),
        ),
        *SERVICE_RESIDUES,
    )
}


def build_agent() -> bytes:
    """The agent jar, compiled from the packaged source with the machine's JDK."""
    javac, jar = shutil.which("javac"), shutil.which("jar")
    if not javac or not jar:
        raise PreconditionError(
            "chaos: javac/jar not found on this machine (needed to build the OOM agent)",
            fix="apt-get install openjdk-17-jdk-headless (make deps)",
        )
    source = resources.files("opsproof.chaos.remote").joinpath("OomAgent.java").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "OomAgent.java").write_text(source, encoding="utf-8")
        (work / "manifest.txt").write_text("Agent-Class: OomAgent\n", encoding="utf-8")
        subprocess.run([javac, "--release", "17", "OomAgent.java"], cwd=work, check=True)
        subprocess.run(
            [jar, "cfm", "agent.jar", "manifest.txt", "OomAgent.class"], cwd=work, check=True
        )
        return (work / "agent.jar").read_bytes()


def exhaust_heap(
    host: str, unit: str = "tomcat10", dump_dir: str = "/var/lib/tomcat10/heapdumps"
) -> dict[str, Any]:
    """Load the leaking agent; wait (bounded) until the JVM has exited and report the dump."""
    agent = base64.b64encode(build_agent()).decode()
    attacher = resources.files("opsproof.chaos.remote").joinpath("jvm_attach.py").read_text()
    pid = main_pid(host, unit)
    if pid <= 0:
        raise OpsproofError(f"chaos: {unit} is not running on {host}", fix=f"start {unit}")
    restarts = restart_count(host, unit)
    context.sudo(host, f"printf %s {shlex.quote(attacher)} > {ATTACHER}")
    context.sudo(
        host,
        f"echo {agent} | base64 -d > /proc/{pid}/root{JAR_IN_JVM} && "
        f"chmod 0644 /proc/{pid}/root{JAR_IN_JVM}",
    )
    injected = time.time()
    loaded = context.sudo(host, f"python3 {ATTACHER} {pid} {JAR_IN_JVM}", check=False)
    if loaded.rc != 0:
        raise OpsproofError(
            f"chaos: the OOM agent could not be loaded into {unit} (pid {pid}) on {host}: "
            f"{(loaded.stdout + loaded.stderr).strip()[-300:]}",
            fix="is the JVM started with -XX:+DisableAttachMechanism? the experiment needs attach",
        )
    deadline = time.time() + 120
    while time.time() < deadline and main_pid(host, unit) == pid:
        time.sleep(0.5)
    exited = main_pid(host, unit) != pid
    found = context.sudo(
        host,
        f"find {shlex.quote(dump_dir)} -name 'java_pid{pid}.hprof' -printf '%f %s\\n'",
        check=False,
    ).stdout.split()
    status = context.sudo(
        host,
        f"journalctl -u {shlex.quote(unit)} --since @{int(injected) - 1} --no-pager -o cat "
        "| grep -m1 -E 'Main process exited|OutOfMemory|Terminating due to'",
        check=False,
    ).stdout.strip()
    if found:  # as large as the heap: recorded here, then deleted from the host's disk
        context.sudo(host, f"rm -f {shlex.quote(dump_dir)}/{found[0]}", check=False)
    return {
        "injected_at": injected,
        "cleared_at": injected,
        "attach": loaded.stdout.strip(),
        "jvm_pid": pid,
        "jvm_exited": exited,
        "heap_dump": found[0] if found else None,
        "heap_dump_bytes": int(found[1]) if len(found) > 1 else 0,
        "exit": status,
        "restarts_before": restarts,
    }


def verify_cleaned(host: str, unit: str = "tomcat10") -> dict[str, Any]:
    """Rollback: the JVM runs (started if not), the attacher and the agent's jar are gone."""
    from opsproof.chaos.faults_process import ensure_active

    state = ensure_active(host, unit)
    cleared = clear_or_fail(host, RESIDUES["exhaust_heap"])
    return {**cleared, "verified": state["verified"] and cleared["verified"], "unit": unit}
