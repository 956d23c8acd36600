#!/usr/bin/env bash
# Build the platform WAR: build.sh [OUTPUT_DIR]   (default: <repo>/build/platform)
#
# Compiles the servlets with javac --release 17 against Debian's Tomcat 10
# servlet API and packages OUTPUT_DIR/ROOT.war with jar. Reproducible: fixed
# file order and entry timestamps (SOURCE_DATE_EPOCH if set, else a constant).
# Needs: openjdk-17-jdk-headless (javac, jar), libtomcat10-java (servlet API).
# The WAR bundles no JDBC driver; Tomcat provides it (libpostgresql-jdbc-java).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../build/platform}"
servlet_api="${SERVLET_API_JAR:-/usr/share/java/tomcat10-servlet-api.jar}"

die() { echo "build.sh: $*" >&2; exit 1; }

command -v javac >/dev/null 2>&1 \
  || die "javac not found; install the JDK: apt-get install -y openjdk-17-jdk-headless"
command -v jar >/dev/null 2>&1 \
  || die "jar not found; install the JDK: apt-get install -y openjdk-17-jdk-headless"
[[ -r "$servlet_api" ]] \
  || die "servlet API jar $servlet_api not found; install it: apt-get install -y libtomcat10-java"
# The compiler's version from its JDK's release file (no JVM start: an up-to-date build costs
# a fraction of a second); javac -version only where a JDK has no release file.
javac_path="$(readlink -f "$(command -v javac)")"
javac_version="$(sed -nE 's/^JAVA_VERSION="(.*)"$/\1/p' "${javac_path%/bin/javac}/release" 2>/dev/null || true)"
[[ -n "$javac_version" ]] || javac_version="$(javac -version 2>&1 | sed -E 's/^javac //')"
javac_major="${javac_version%%.*}"
[[ "$javac_major" =~ ^[0-9]+$ && "$javac_major" -ge 17 ]] \
  || die "javac 17 or newer needed (found: $javac_version at $javac_path); apt-get install -y openjdk-17-jdk-headless"

# Entry timestamps: jar --date accepts 1980-01-01T00:00:02Z .. 2099-12-31T23:59:59Z.
if [[ -n "${SOURCE_DATE_EPOCH:-}" ]]; then
  stamp="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
else
  stamp="2018-01-01T00:00:00Z"
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"

# Up to date? The inputs are this script, the sources, the web resources, the compiler
# and the timestamp; when their digest matches the one recorded beside the WAR, stop.
inputs="$( { cat "${BASH_SOURCE[0]}"; echo "$javac_path $javac_version"; echo "$stamp"; sha256sum "$servlet_api";
             cd "$here" && find src webapp -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } \
           | sha256sum | cut -d' ' -f1)"
if [[ -f "$out/ROOT.war" && "$(cat "$out/ROOT.war.inputs" 2>/dev/null)" == "$inputs" ]]; then
  echo "up to date $out/ROOT.war (sha256 $(sha256sum "$out/ROOT.war" | cut -d' ' -f1))"
  exit 0
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/platform-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/war/WEB-INF/classes"
# Sources in a fixed order.
(cd "$here/src/main/java" && find . -name '*.java' -print | LC_ALL=C sort) > "$work/sources.txt"
[[ -s "$work/sources.txt" ]] || die "no Java sources under $here/src/main/java"
(cd "$here/src/main/java" && javac --release 17 -encoding UTF-8 -Xlint:all -Werror \
  -cp "$servlet_api" -d "$work/war/WEB-INF/classes" @"$work/sources.txt")

# Web resources (web.xml, ...).
cp -R "$here/webapp/." "$work/war/"

# Directories first, then files, each sorted bytewise, so the archive is
# byte-identical between builds of the same sources.
(cd "$work/war" && { find . -mindepth 1 -type d -print | LC_ALL=C sort; \
                     find . -type f -print | LC_ALL=C sort; }) > "$work/entries.txt"
rm -f "$out/ROOT.war" "$out/ROOT.war.inputs"
(cd "$work/war" && jar --create --no-manifest --date="$stamp" --file "$out/ROOT.war" @"$work/entries.txt")

# Guard: the servlet API and the JDBC driver come from Tomcat, never from the WAR.
if jar --list --file "$out/ROOT.war" | grep -E '^WEB-INF/lib/' >/dev/null; then
  die "ROOT.war must not bundle jars (WEB-INF/lib)"
fi
echo "$inputs" > "$out/ROOT.war.inputs"
echo "built $out/ROOT.war ($(wc -c < "$out/ROOT.war") bytes, sha256 $(sha256sum "$out/ROOT.war" | cut -d' ' -f1))"
