package yamlfile

import "reflect"

// ScalarOrMapping is a field that may be written either as a scalar or as a
// mapping, such as a level that is fixed (`impact: high`) or looked up in a
// table (`impact: {label: severity, map: {...}}`).
//
// The node's kind picks the branch: a scalar decodes into Scalar, a mapping
// into Mapping (strictly and with positions, like any other target), and
// IsMapping says which one it was. A list is an error naming both accepted
// kinds. Null leaves both branches at their zero values. Wrap it in a Value
// to keep the position of the field itself.
type ScalarOrMapping[S, M any] struct {
	Scalar    S
	Mapping   M
	IsMapping bool
}

// branch records which branch the node's kind selects and returns it.
func (u *ScalarOrMapping[S, M]) branch(mapping bool) reflect.Value {
	u.IsMapping = mapping
	if mapping {
		return reflect.ValueOf(&u.Mapping).Elem()
	}
	return reflect.ValueOf(&u.Scalar).Elem()
}

func (u *ScalarOrMapping[S, M]) scalarType() reflect.Type { return reflect.TypeFor[S]() }

// union is implemented by *ScalarOrMapping[S, M] for every S and M.
type union interface {
	branch(mapping bool) reflect.Value
	scalarType() reflect.Type
}

// describeType names what a scalar Go type expects, for "expected X or a
// mapping" messages.
func describeType(t reflect.Type) string {
	if isInteger(t.Kind()) {
		return "an integer"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a scalar"
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}
