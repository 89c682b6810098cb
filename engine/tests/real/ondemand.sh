# Tables and built-in chains created on demand; -X/-E/-P/-Z on real and placeholder chains; kernel refusals (busy, loops, jumps to base chains).
iptables -A INPUT -j ACCEPT
iptables-save
iptables -X INPUT
iptables -F INPUT
iptables -X INPUT
iptables-save
iptables -L INPUT
iptables -t nat -N FOO
iptables-save
iptables -t mangle -P INPUT DROP
iptables -t raw -F PREROUTING
iptables -t security -Z INPUT
iptables -t security -X INPUT
iptables -N X
iptables -L -Z
iptables -P INPUT DROP
iptables -A FORWARD -j ACCEPT
iptables -N Y
iptables -A OUTPUT -j Y
iptables -X
iptables -D OUTPUT 1
iptables -X
iptables -P INPUT REJECT
iptables -P NOPE REJECT
iptables -X INPUT
iptables -I FWD 2 -j DROP
iptables -I FWD 3 -j DROP
iptables -I FWD 2 -j DROP
iptables -S
iptables -N FOO
iptables -A FOO -j OUTPUT
iptables -A FOO -j FWD
iptables -A OUTPUT -j OUTPUT
iptables -A INPUT -v -j NOPE
iptables -A NOPE -v -j ACCEPT
iptables -D INPUT -j NOPE
iptables -C INPUT -j NOPE
iptables -R INPUT 1 -j NOPE
iptables -D NOPE -j NOPE
iptables -P INPUT ACCEPT -c 5 6
iptables-save -c
iptables -t raw -L INPUT
iptables -t raw -L PREROUTING -Z
iptables -t raw -L PREROUTING 1 -Z
iptables -t raw -S PREROUTING
iptables -t mangle -D INPUT 1
iptables -t mangle -D INPUT -j ACCEPT
iptables -t mangle -R INPUT 1 -j ACCEPT
iptables -t mangle -I INPUT 1 -j ACCEPT
iptables -t mangle -N INPUT
iptables -t mangle -N FOO
iptables -t mangle -E FOO POSTROUTING
iptables -t mangle -E FOO BAR
iptables -t mangle -N X -v
iptables -t mangle -E X BAR
iptables -t mangle -E BAR "a b"
iptables -t mangle -E BAR -x
iptables -t mangle -E BAR !x
iptables -t mangle -E BAR 0123456789012345678901234567890
iptables -t mangle -E BAR 0123456789012345678901234567
iptables -t mangle -E BAR 012345678901234567890123456
iptables -t mangle -N 0123456789012345678901234567
iptables -t mangle -N 012345678901234567890123456
iptables -t mangle -N "a b"
iptables -t mangle -N !a
iptables -t mangle -N -- -a
iptables -t mangle -N DROP
iptables -t mangle -N mark
iptables -t mangle -N CONTINUE
iptables -t mangle -N "a	b"
iptables -t mangle -A INPUT -j "a b"
iptables -t mangle -A INPUT -j 0123456789012345678901234567890
iptables -t mangle -A INPUT -j ""
iptables -t mangle -A INPUT -j CONTINUE
iptables -t mangle -A INPUT -g CONTINUE
iptables -t mangle -A INPUT -j conlimit
iptables -t mangle -S
iptables -N P
iptables -N Q
iptables -A P -j Q
iptables -X P
iptables -A P -j Q
iptables -A P -j ACCEPT
iptables -X P
iptables -N R
iptables -A R
iptables -X R
iptables -N S
iptables -A S -s 1.2.3.4
iptables -X S
iptables -N T
iptables -A T -j RETURN
iptables -X T
iptables -N C
iptables -N B
iptables -N A
iptables -A A -j ACCEPT
iptables -A B -j ACCEPT
iptables -A C -j ACCEPT
iptables -X
iptables -t mangle -N A
iptables -t mangle -N C
iptables -t mangle -N B
iptables -t mangle -A A -j ACCEPT
iptables -t mangle -A B -j ACCEPT
iptables -t mangle -A C -j ACCEPT
iptables -t mangle -X
iptables -t raw -N B
iptables -t raw -N C
iptables -t raw -N A
iptables -t raw -A A -j ACCEPT
iptables -t raw -A C -j ACCEPT
iptables -t raw -X
iptables -t nat -N B
iptables -t nat -N C
iptables -t nat -N A
iptables -t nat -A A -j ACCEPT
iptables -t nat -A B -j ACCEPT
iptables -t nat -X
iptables -N FOO
iptables -A FOO -j ACCEPT
iptables -N A
iptables -N B
iptables -A A -j B
iptables -X
iptables -N A2
iptables -A A2 -j ACCEPT
iptables -N A1
iptables -A A1 -j A2
iptables -X
