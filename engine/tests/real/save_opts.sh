# iptables-save and iptables-restore options and usage errors.
iptables-restore -w
iptables-restore -w 3
iptables-restore -W 3
iptables-restore -wx
iptables-restore -T foo
iptables-restore -c -n -v -t
iptables-restore -V
iptables-restore --version
iptables-save -V
iptables-save --version
iptables-save -h
iptables-save -x
iptables-save --foo
iptables-save -t
iptables-save -t foo
iptables-save -t nat
iptables-save a
iptables-save -M foo
iptables-save -4
iptables-save -6
iptables-restore -4
iptables-restore -6
iptables -A INPUT -j ACCEPT
iptables-save -t filter -c
iptables-save -t nat -t filter
iptables-save -c -c
iptables-save -tnat
iptables-save --table=nat
iptables-save --table nat
iptables-save --tab nat
iptables-save --counters
iptables-save --count
iptables-restore --count < /dev/null
iptables-restore --noflush --tab=nat < /dev/null
