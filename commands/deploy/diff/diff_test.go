package diff

import "testing"

func TestIsMigration(t *testing.T) {
	for name, want := range map[string]bool{
		"db/migrate/20261120_add_discounts.rb": true, "migrations/0001_init.py": true, "db/schema.rb": true,
		"db/structure.sql": true, "db/seeds/orders.sql": true, "app/models/order.rb": false, "docs/queries.sql": false,
	} {
		if got := IsMigration(name); got != want {
			t.Errorf("IsMigration(%q) = %v, want %v", name, got, want)
		}
	}
}
