# -L/-S formats: names, masks, protocols, interfaces, counters with K/M/G, goto, line numbers.
iptables -N USR
iptables -A INPUT -s 10.0.0.0/8 -d 192.168.1.1 -i eth0 -j USR
iptables -A INPUT ! -s 10.0.0.0/255.0.255.0 ! -d 1.2.3.4/31 ! -i eth+ -g USR
iptables -A FORWARD -p 47 -o veth0 -j DROP
iptables -A FORWARD ! -p 200 -j RETURN
iptables -A FORWARD -p udplite
iptables -A FORWARD -p ipv6-icmp
iptables -A FORWARD -p sctp -f
iptables -A FORWARD -p ESP
iptables -A FORWARD -p Tcp --dport 22 -c 123456 7890123456
iptables -A USR -s 127.0.0.1 -c 99999 100000
iptables -A USR -d localhost -c 9999500 9999499999
iptables -A USR -p 255
iptables -A USR -p 0
iptables -A USR -p 132
iptables -A OUTPUT -c 18446744073709551615 18446744073709551615
iptables -L
iptables -L -n
iptables -L -v
iptables -L -v -n
iptables -L -v -x
iptables -L --line-numbers -v
iptables -S
iptables -S -v
iptables -S FORWARD 1
iptables -S FORWARD 1 -v
iptables -L FORWARD 6 -v
iptables -L USR
iptables -L USR 2 --line-numbers
iptables-save -c
iptables -A INPUT -p 135 -v
iptables -A INPUT -p 33 -v
iptables -A INPUT -p 2 -v
iptables -A INPUT -p mh -v
iptables -A INPUT -p icmpv6 -v
iptables -A INPUT -p igmp -v
iptables -L INPUT
iptables -S INPUT
iptables -L -n
iptables -S -n
iptables -S -x
iptables -S --line-numbers
iptables -F -n
iptables -L -s nosuch
iptables -L -s 1.2.3.4
