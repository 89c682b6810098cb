# Chain commands: -N -X -E -P -F -Z -L -S on builtin, user and missing chains.
iptables-save
iptables -L
iptables-save
iptables -t nat -L
iptables-save
iptables -t mangle -S
iptables -t raw -F
iptables -t security -Z
iptables-save
iptables -N FOO
iptables -N FOO
iptables -A FOO -j ACCEPT
iptables -A INPUT -j FOO
iptables -X FOO
iptables -F INPUT
iptables -X FOO
iptables -X FOO
iptables -X INPUT
iptables -X
iptables -N A
iptables -N B
iptables -A A -j B
iptables -X
iptables -S
iptables -E A C
iptables -E INPUT X
iptables -E NOPE X
iptables -E B C
iptables -N D
iptables -E D C
iptables -E C INPUT
iptables -E C ACCEPT
iptables -P FOO ACCEPT
iptables -P C ACCEPT
iptables -P INPUT REJECT
iptables -P INPUT RETURN
iptables -P INPUT drop
iptables -P INPUT DROP
iptables -L INPUT
iptables -L NOPE
iptables -S NOPE
iptables -F NOPE
iptables -Z NOPE
iptables -Z INPUT 5
iptables -L INPUT 5
iptables -S INPUT 5
iptables -D INPUT 5
iptables -R INPUT 5 -j ACCEPT
iptables -I INPUT 5 -j ACCEPT
iptables -I INPUT 2 -j ACCEPT
iptables -I INPUT 1 -j ACCEPT
iptables -I INPUT 3 -j ACCEPT
iptables -D INPUT -j DROP
iptables -C INPUT -j DROP
iptables -C INPUT -j ACCEPT
iptables -D NOPE -j DROP
iptables -D NOPE 1
iptables -A NOPE -j DROP
iptables -I NOPE -j DROP
iptables -R NOPE 1 -j DROP
iptables -C NOPE -j DROP
iptables -A INPUT -j NOPE
iptables -A INPUT -g NOPE
iptables -A INPUT -j C
iptables -A C -j C
iptables -A C -j INPUT
iptables -A INPUT -g C
iptables -L -v
iptables -L --line-numbers
iptables -S -v
iptables -L -n -x -v --line-numbers
