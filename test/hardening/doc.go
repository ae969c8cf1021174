// Package hardening holds ssegate's security regression suite: one test per
// attack, each against the real programs (gateway and publisher on real
// Redis, over real HTTP on loopback), in the manner of Mercure's
// hardening_test.go.
//
// Every test states the exact status code and JSON error body the attacker
// gets, checks the rejection counter, and runs a control client that stays
// subscribed through the attack: it must receive every event published
// meanwhile, checked by id, and nothing else — the attack neither starved
// other clients nor lost or injected events.
package hardening
