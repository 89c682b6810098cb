# Argument forms: long options and abbreviations, --, attached values, addresses and masks, interfaces, option order errors.
iptables -L --numeric=5
iptables -L -- INPUT
iptables -L INPUT --
iptables -- -L
iptables -A INPUT -p tcp --syn=1
iptables -A INPUT -p tcp --dp 22
iptables -A INPUT -p tcp --d 22
iptables -A INPUT --s 1.2.3.4
iptables -A INPUT --sr 1.2.3.4
iptables -A INPUT --pro tcp
iptables -A INPUT --in eth0
iptables -A INPUT --line
iptables --li
iptables --lis
iptables --list-r
iptables -A INPUT -s 10.1 -d 10
iptables -A INPUT -s 0x0a.1.1.1 -d 1.2.65535
iptables -A INPUT -s 2130706433 -d 017.1.1.1
iptables -A INPUT -s loopback -d link-local/16
iptables -A INPUT -s default
iptables -A INPUT -s nosuch/0
iptables -A INPUT -s 1.2.3.4,1.2.3.4
iptables -A INPUT -s " 1.2.3.5 , 1.2.3.6 "
iptables -A INPUT -s 1.2.3.4,
iptables -A INPUT -s 1.2.3.4/0x10
iptables -A INPUT -s 1.2.3.4/255.255
iptables -A INPUT -s 1.2.3.4/1/2
iptables -A INPUT -s 1.2.3.4.5
iptables -A INPUT -s 1.2.3.256
iptables -A INPUT -i eth/0
iptables -A INPUT -i "eth 0"
iptables -A INPUT -i eth/+
iptables -A INPUT -i 123456789012345
iptables -A INPUT -i 1234567890123456
iptables -S INPUT
iptables -A INPUT -j QUEUE
iptables -S INPUT 16
iptables -L INPUT 16
iptables -A INPUT -p tcp -m tcp --dport 1 -m tcp --sport 2 --dport 3 --dport 4
iptables -A INPUT -m tcp --dport 1 -p tcp
iptables -A INPUT -p udp -m tcp --dport 1
iptables -S INPUT
iptables -t foo -A INPUT -j NOPE
iptables -t foo -A INPUT -j DROP -s
iptables -A NOPE -j NOPE2
iptables -A INPUT -j NOPE -s 1.2.3.4/40
iptables -A INPUT -s 1.2.3.4/40
iptables -A INPUT -s nosuchhost.invalid
iptables -N A
iptables -N B
iptables -A A -j B
iptables -A B -j A
iptables -A B -j B
iptables -A A -j A
iptables -I A -j A
iptables -A INPUT -j A
iptables -S
iptables -A OUTPUT -v -s 1.2.3.4,5.6.7.8 -p tcp -j ACCEPT
iptables -D OUTPUT -v -s 1.2.3.4,5.6.7.8 -p tcp -j ACCEPT
iptables -I OUTPUT -v -s 1.2.3.4 -j DROP
iptables -R OUTPUT 1 -v -s 1.2.3.5 -j DROP
iptables -C OUTPUT -v -s 1.2.3.5 -j DROP
iptables -C OUTPUT -v -s 1.2.3.6 -j DROP
iptables -D OUTPUT 1 -v
iptables -D OUTPUT 1
iptables -A OUTPUT -v -o eth0 ! -d 10.0.0.0/8 -p 47 -j A
iptables -A OUTPUT -v ! -o eth+ ! -s 10.0.0.0/255.0.255.0 ! -p tcp -g A
iptables -A OUTPUT -v -f
iptables -A OUTPUT -v ! -f -p icmp
iptables -L OUTPUT -v
iptables -L OUTPUT -v -n
iptables -X A -v
iptables -F -v
iptables -X -v
iptables -N C
iptables -N D
iptables -X -v
iptables -Z -v
iptables -Z OUTPUT -v
iptables -Z OUTPUT 1 -v
iptables -Z OUTPUT 9
iptables -Z NOPE 1
iptables -N E
iptables -E E F -v
iptables -P INPUT DROP -v
iptables -t nat -F -v
iptables -t nat -Z -v
iptables -t nat -X -v
iptables -t nat -L -Z
iptables -t nat -L INPUT -Z
iptables -t nat -Z INPUT -L
iptables -L INPUT -Z
iptables -L -Z
iptables -S -Z
iptables -S INPUT -Z
iptables -L INPUT 1 -Z
iptables -Z INPUT 1 -L
