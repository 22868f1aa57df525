package banklink

// IsRoutingNumber reports whether s is an ABA routing transit number:
// nine digits whose checksum holds, 3(d1+d4+d7) + 7(d2+d5+d8) +
// (d3+d6+d9) ≡ 0 (mod 10). The checksum tells a routing number copied
// from a cheque from nine digits typed at random (or one digit mistyped)
// nine times out of ten. It does not check that the Federal Reserve
// assigned the number.
func IsRoutingNumber(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i := range 9 {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * routingWeights[i%3]
	}
	return sum%10 == 0
}

var routingWeights = [3]int{3, 7, 1}

// RoutingCheckDigit returns the digit that completes the 8-digit prefix
// into a routing number (IsRoutingNumber(prefix + digit)).
func RoutingCheckDigit(prefix string) byte {
	sum := 0
	for i := 0; i < 8 && i < len(prefix); i++ {
		sum += int(prefix[i]-'0') * routingWeights[i%3]
	}
	return byte('0' + (10-sum%10)%10)
}
