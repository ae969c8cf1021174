package gateway

import "testing"

// TestHoldOnLive pins what a live message does in each hold state.
func TestHoldOnLive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		state          holdState
		held           int
		next           holdState
		dispatch, keep bool
	}{
		{"flowing dispatches", flowing, 0, flowing, true, false},
		{"holding keeps", holding, 0, holding, false, true},
		{"holding keeps up to the bound", holding, maxPending - 1, holding, false, true},
		{"holding at the bound overflows", holding, maxPending, overflowed, false, false},
		{"overflowed drops", overflowed, maxPending, overflowed, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next, dispatch, keep := holdOnLive(tt.state, tt.held)
			if next != tt.next || dispatch != tt.dispatch || keep != tt.keep {
				t.Fatalf("holdOnLive(%v, %d) = %v dispatch=%v keep=%v, want %v %v %v", tt.state, tt.held, next, dispatch, keep, tt.next, tt.dispatch, tt.keep)
			}
		})
	}
}

// TestHoldOnHold: a new hold holds, and does not forget an overflow.
func TestHoldOnHold(t *testing.T) {
	t.Parallel()
	for s, want := range map[holdState]holdState{flowing: holding, holding: holding, overflowed: overflowed} {
		if got := holdOnHold(s); got != want {
			t.Errorf("holdOnHold(%v) = %v, want %v", s, got, want)
		}
	}
}

// TestHoldOnRelease pins when a release ends a hold: only for the current
// generation (or any, gen 0) and only when nothing held was dropped; a
// failed release forgets the overflow, so the next read of history can
// end the hold.
func TestHoldOnRelease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		state    holdState
		gen, cur int
		next     holdState
		ok       bool
	}{
		{"current generation", holding, 3, 3, flowing, true},
		{"any generation", holding, 0, 3, flowing, true},
		{"another hold began", holding, 2, 3, holding, false},
		{"overflowed", overflowed, 3, 3, holding, false},
		{"overflowed, any generation", overflowed, 0, 3, holding, false},
		{"overflowed, another hold began", overflowed, 2, 3, holding, false},
		{"flowing, current generation", flowing, 3, 3, flowing, true},
		{"flowing, an older generation", flowing, 2, 3, flowing, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next, ok := holdOnRelease(tt.state, tt.gen, tt.cur)
			if next != tt.next || ok != tt.ok {
				t.Fatalf("holdOnRelease(%v, %d, %d) = %v %v, want %v %v", tt.state, tt.gen, tt.cur, next, ok, tt.next, tt.ok)
			}
		})
	}
}
