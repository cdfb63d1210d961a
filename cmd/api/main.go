// Command api is the project API: it serves HTTP, migrates the schema and
// mints development tokens. See `api help`.
package main

import (
	"os"

	"github.com/scoped-api/foundation/bootstrap"
)

func main() {
	os.Exit(bootstrap.Main(os.Args[1:]))
}
