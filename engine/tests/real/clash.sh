# Chain names that clash with target extensions (other groups' files).
# needs: MARK LOG NFQUEUE
iptables -N MARK
iptables -N LOG
iptables -N NFQUEUE
iptables -t mangle -N MARK
iptables -N mark
iptables -S
