# `!` in every position, and the five tables with their built-in chains.
# needs: tcp udp icmp conntrack
iptables -A INPUT -p ! tcp
iptables -A INPUT -s ! 1.2.3.4
iptables -A INPUT ! -p tcp --dport 22
iptables -A INPUT -p tcp ! --dport 22
iptables -A INPUT -p tcp --dport ! 22
iptables -A INPUT ! -m tcp
iptables -A INPUT -m ! tcp
iptables -A INPUT ! -i eth0
iptables -A INPUT -i ! eth0
iptables -A INPUT !-s 1.2.3.4
iptables -A INPUT ! -s 1.2.3.4 ! -d 5.6.7.8 ! -i eth1 ! -p udp ! -f
iptables -A INPUT ! -p all
iptables -A INPUT ! -j ACCEPT
iptables -A INPUT ! -g INPUT
iptables -A INPUT ! -c 1 2
iptables -A INPUT ! -m conntrack --ctstate NEW
iptables -A INPUT -m conntrack ! --ctstate NEW
iptables -A INPUT ! -p icmp --icmp-type 8
iptables -A INPUT -p icmp ! --icmp-type 8
iptables ! -t nat -L
iptables -t nat ! -L
iptables -L ! INPUT
iptables -S INPUT
iptables -L INPUT -v -n
iptables -t security -A INPUT -j ACCEPT
iptables -t security -A FORWARD -j DROP
iptables -t security -A OUTPUT -j RETURN
iptables -t security -A PREROUTING -j ACCEPT
iptables -t security -P FORWARD DROP
iptables -t raw -A PREROUTING -j ACCEPT
iptables -t raw -A OUTPUT -j DROP
iptables -t raw -A INPUT -j ACCEPT
iptables -t raw -A FORWARD -j ACCEPT
iptables -t raw -P OUTPUT DROP
iptables -t mangle -A PREROUTING -j ACCEPT
iptables -t mangle -A INPUT -j ACCEPT
iptables -t mangle -A FORWARD -j ACCEPT
iptables -t mangle -A OUTPUT -j ACCEPT
iptables -t mangle -A POSTROUTING -j ACCEPT
iptables -t mangle -P POSTROUTING DROP
iptables -t nat -A PREROUTING -j ACCEPT
iptables -t nat -A INPUT -j ACCEPT
iptables -t nat -A OUTPUT -j ACCEPT
iptables -t nat -A POSTROUTING -j ACCEPT
iptables -t nat -A FORWARD -j ACCEPT
iptables -t nat -P POSTROUTING ACCEPT
iptables -t nat -P POSTROUTING DROP
iptables -t filter -A PREROUTING -j ACCEPT
iptables -t filter -P POSTROUTING DROP
iptables -t FILTER -L
iptables -t "" -L
iptables -t broute -L
iptables-save
iptables -t security -L -v
iptables -t raw -S
iptables -t mangle -L -n --line-numbers
iptables -t nat -S
iptables -t security -F
iptables -t security -X
iptables -t raw -Z
iptables-save -c
