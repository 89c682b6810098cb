# First steps: a stateful firewall for a small server, then a look at it.
iptables -P INPUT DROP
iptables -A INPUT -i lo -j ACCEPT
iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables -A INPUT -p tcp --dport 22 --syn -j ACCEPT
iptables -A INPUT -p icmp --icmp-type echo-request -m limit --limit 1/sec --limit-burst 7 -j ACCEPT
iptables -N LOGDROP
iptables -A LOGDROP -j LOG --log-prefix "dropped: "
iptables -A LOGDROP -j DROP
iptables -A INPUT -j LOGDROP
iptables -L -v -n --line-numbers
# A mistake the guide makes on purpose: -Lvn is "-L vn", a chain named vn.
iptables -Lvn
iptables-save
