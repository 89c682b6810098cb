# The guide's REJECT example: the server rejects ssh from 192.168.0.20.
#   iptplay lab --trace tests/labs/seed-lan.json tests/labs/seed-lan-reject.sh
server$ iptables -I INPUT -p tcp --dport 22 -s 192.168.0.20 -j REJECT
scanner$ nmap -p 22 192.168.0.10
server$ tcpdump -n host 192.168.0.20
iptables -R INPUT 1 -p tcp --dport 22 -s 192.168.0.20 -j DROP
scanner$ nmap -p 22 192.168.0.10
server$ iptables -R INPUT 1 -p tcp --dport 22 -s 192.168.0.20 -j REJECT --reject-with tcp-reset
scanner$ nmap -p 22 192.168.0.10
server$ iptables -L INPUT -v -n -x
