"""The lab: real Debian 12 hosts as systemd-nspawn containers on a host bridge."""
