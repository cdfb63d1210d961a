package observability

import (
	"strings"
	"testing"
)

func TestNormalizeKeepsTheShapeAndDropsEveryValue(t *testing.T) {
	cases := []struct{ in, want string }{
		{`SELECT * FROM "projects" WHERE owner = $1 AND deleted_at IS NULL AND id = $2 LIMIT 1`,
			`SELECT * FROM "projects" WHERE owner = $1 AND deleted_at IS NULL AND id = $2 LIMIT ?`},
		{"SELECT  *\n\tFROM t1 WHERE name = 'alice''s secret' AND n = 42 AND x = -3.5e10",
			"SELECT * FROM t1 WHERE name = ? AND n = ? AND x = -?"},
		{`UPDATE t SET a = E'it\'s', b = $$ dollar 'quoted' $$ WHERE c2 = ?`,
			`UPDATE t SET a = ?, b = ? WHERE c2 = ?`},
		{`INSERT INTO "projects" ("id","owner") VALUES ($1,$2)`, `INSERT INTO "projects" ("id","owner") VALUES ($1,$2)`},
		{`SELECT set_config('app.subject', 'bob', true)`, `SELECT set_config(?, ?, true)`},
		{`SELECT .5, col_2, "weird 7"`, `SELECT ?, col_2, "weird 7"`},
		{"'unterminated", "?"},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	long := "SELECT " + strings.Repeat("a, ", 2000)
	if got := Normalize(long); len(got) > maxStatementLength {
		t.Errorf("not bounded: %d bytes", len(got))
	}
}

func FuzzNormalizeNeverLeaksALiteral(f *testing.F) {
	f.Add("SELECT * FROM t WHERE a = 'x' AND b = 12")
	f.Add("E'\\''")
	f.Fuzz(func(t *testing.T, s string) {
		out := Normalize(s)
		if strings.Contains(out, "'") && !strings.Contains(s, `"`) {
			t.Fatalf("a quote survived: %q -> %q", s, out)
		}
	})
}

func TestNormalizeCachedAgreesAndStaysBounded(t *testing.T) {
	in := "SELECT * FROM t WHERE a = 'secret' AND b = $1"
	if NormalizeCached(in) != Normalize(in) || NormalizeCached(in) != "SELECT * FROM t WHERE a = ? AND b = $1" {
		t.Fatal(NormalizeCached(in))
	}
	for i := range maxCached + 100 {
		NormalizeCached("SELECT " + strings.Repeat("x", i%50) + " FROM t" + string(rune('a'+i%26)) + strings.Repeat(" ", i))
	}
	if n := normalizedSize.Load(); n > maxCached {
		t.Fatalf("cache grew to %d", n)
	}
}
