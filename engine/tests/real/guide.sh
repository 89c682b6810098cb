# The first-steps guide (static/examples/first-steps.sh) and the mistakes people make with it.
# needs: conntrack tcp icmp limit LOG REJECT udp multiport comment connlimit state DNAT MASQUERADE
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
iptables -L
iptables -L -v
iptables -S
iptables -Lvn
iptables -Lnv INPUT
iptables -L -vn
iptables -nvL
iptables -vnL INPUT
iptables -D 3 INPUT
iptables -D INPUT 3
iptables -A INPUT -m conlimit --connlimit-above 3 -j DROP
iptables -A INPUT -m connlimit --connlimit-above 3
iptables -A INPUT -p tcp --dport 80
iptables -A INPUT -p tcp --dport 80 -j
iptables -A INPUT -p tcp -dport 80 -j ACCEPT
iptables -A INPUT -p tcp --destination-port 443 -j ACCEPT
iptables -A INPUT --dport 25 -j ACCEPT
iptables -A INPUT -p udp --dport 53 -j accept
iptables -A INPUT -p udp --dport 53 -j ACCEPT
iptables -A INPUT -j REJECT --reject-with tcp-reset
iptables -A INPUT -p tcp -j REJECT --reject-with tcp-reset
iptables -A INPUT -m state --state NEW -j ACCEPT
iptables -A INPUT -m multiport --dports 80,443 -j ACCEPT
iptables -A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
iptables -A INPUT -m comment --comment "allow web" -p tcp --dport 8080 -j ACCEPT
iptables -X LOGDROP
iptables -F LOGDROP
iptables -X LOGDROP
iptables -D INPUT -j LOGDROP
iptables -X LOGDROP
iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080
iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE
iptables -t nat -A POSTROUTING -j DROP
iptables -t nat -L -n -v
iptables -I INPUT 2 -s 192.168.0.0/24 -j ACCEPT
iptables -R INPUT 1 -i lo -j ACCEPT
iptables -L INPUT --line-numbers
iptables -C INPUT -i lo -j ACCEPT
iptables -C INPUT -i lo -j DROP
iptables-save
iptables-save -c
iptables -F
iptables -L -n
iptables -P INPUT ACCEPT
iptables-save
