// Command api wires an adapter itself instead of running bootstrap.
package main

import "example.com/fixture/adapters/postgres"

func main() { _ = postgres.Open() }
