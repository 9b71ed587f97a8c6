package postgres

import "strings"

// conds collects the conditions of a WHERE clause and their arguments.
type conds struct {
	sql  []string
	args []any
}

// add adds a condition with its arguments.
func (c *conds) add(cond string, args ...any) {
	c.sql = append(c.sql, cond)
	c.args = append(c.args, args...)
}

// in adds "col IN (?, ?, …)" for vals; nothing when vals is empty.
func in[T any](c *conds, col string, vals []T) {
	if len(vals) == 0 {
		return
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	c.add(col+" IN ("+placeholders(len(vals))+")", args...)
}

// placeholders returns "?, ?, …" for n bind parameters.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// newestFirst is a listing query: selectFrom ("SELECT … FROM t") under the
// conditions, below the cursor afterID (0: from the newest), newest first,
// at most limit rows. Every API listing pages this way.
func (c conds) newestFirst(selectFrom string, afterID int64, limit int) (string, []any) {
	if afterID > 0 {
		c.add("id < ?", afterID)
	}
	q := selectFrom
	if len(c.sql) > 0 {
		q += " WHERE " + strings.Join(c.sql, " AND ")
	}
	return q + " ORDER BY id DESC LIMIT ?", append(c.args, limit)
}

// where is " WHERE …" of the conditions ("" without any) and their
// arguments.
func (c conds) where() (string, []any) {
	if len(c.sql) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(c.sql, " AND "), c.args
}

// likeEscaper escapes LIKE's wildcards and its escape character, the
// backslash (LIKE's default ESCAPE), so that they match themselves.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// containing is the LIKE pattern of the strings that contain s.
func containing(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// foldASCII lowers the ASCII letters of s and nothing else: what lower()
// does to a COLLATE "C" column.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
