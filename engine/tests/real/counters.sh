# Counters (-c), -Z with rule numbers, -I with several addresses, -P with counters.
iptables -P INPUT DROP
iptables -Z INPUT 1 -L
iptables -Z INPUT 1
iptables -Z INPUT 1 -S
iptables -L INPUT -Z 1
iptables -A INPUT -j ACCEPT -c 5 5
iptables -Z INPUT 2 -L
iptables -Z INPUT 1 -L -v
iptables -Z INPUT 1 -v
iptables -Z FORWARD 1 -L
iptables -Z NOPE 1 -L
iptables -I OUTPUT -s 1.1.1.1,2.2.2.2 -d 3.3.3.3,4.4.4.4
iptables -S OUTPUT
iptables -P OUTPUT ACCEPT -c 5 6
iptables-save -c
iptables -P OUTPUT DROP
iptables-save -c
iptables -P OUTPUT ACCEPT -c 7 8
iptables -A FORWARD -c 1 2 -v
iptables -I FORWARD -c 1 2 -v
iptables -R FORWARD 1 -c 3 4
iptables -D FORWARD 1 -c 3 4
iptables -D FORWARD -c 3 4
iptables -C FORWARD -c 3 4
iptables-save -c
iptables -A FORWARD -c 1
iptables -A FORWARD -c 1,2,3
iptables -A FORWARD -c -1 2
iptables -A FORWARD -c " 5" 2
iptables -A FORWARD -c 5x 2
iptables -A FORWARD -c 5 2x
iptables -A FORWARD -c 1,2 3
iptables-save -c -t filter
