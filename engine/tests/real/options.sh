# Parse errors, option/command combinations, -V -w -W -4 -6.
iptables
iptables -A
iptables -A INPUT -j
iptables -A INPUT -s
iptables -A INPUT -p
iptables -L -A INPUT
iptables -A INPUT -D INPUT
iptables -A INPUT -L
iptables -L -Z
iptables -Z -L
iptables -L -S
iptables -F -X
iptables ! -A INPUT
iptables -A INPUT ! -j ACCEPT
iptables -A INPUT ! ! -s 1.2.3.4
iptables -A INPUT -s 1.2.3.4 !
iptables -A INPUT ! -s 1.2.3.4,5.6.7.8
iptables -A INPUT -s 1.2.3.4,5.6.7.8 -d 9.9.9.9,8.8.8.8
iptables -S INPUT
iptables -R INPUT 1 -s 1.2.3.4,5.6.7.8
iptables -A INPUT -s 1.2.3.4 -s 5.6.7.8
iptables -A INPUT -p tcp -p udp
iptables -A INPUT -n
iptables -L -s 1.2.3.4
iptables -L -p tcp
iptables -L -j ACCEPT
iptables -L -i eth0
iptables -L -c 1 2
iptables -A INPUT -v -j ACCEPT
iptables -A INPUT -x
iptables -A INPUT --line-numbers
iptables -F -v
iptables -Z -v
iptables -N X -v
iptables -X X -v
iptables -N X2 -n
iptables -P INPUT ACCEPT -c 1 2
iptables -P INPUT ACCEPT -v
iptables -A OUTPUT -i eth0
iptables -A INPUT -o eth0
iptables -A PREROUTING -o eth0
iptables -A FORWARD -i ""
iptables -A FORWARD -i eth0 -i eth1
iptables -A FORWARD -f
iptables -A FORWARD ! -f
iptables -A FORWARD -f -f
iptables -A INPUT foo
iptables -A INPUT -j ACCEPT extra
iptables --foo
iptables -A INPUT --dport 22
iptables -A INPUT -p tcp --foo
iptables -A INPUT -p tcp --dport
iptables -A INPUT -X
iptables -Q
iptables -A INPUT -m
iptables -A INPUT -m conlimit
iptables -t foo -L
iptables -t nat -A INPUT -j DROP
iptables -t nat -P INPUT DROP
iptables -V
iptables ! -V
iptables -A INPUT -V
iptables -6 -L
iptables -4 -L INPUT
iptables -w -L INPUT
iptables -w 5 -L INPUT
iptables -w x -L INPUT
iptables -W 5 -L INPUT
iptables -W -L INPUT
iptables -w -W 5 -L INPUT
iptables -w5 -L INPUT
iptables --wait=5 -L INPUT
iptables -L INPUT -w 5 -W 100000
iptables -L INPUT -w 5 -W 1000000
iptables -L INPUT -w 5 -W x
iptables -M /bin/true -L INPUT
