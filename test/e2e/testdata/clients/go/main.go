// The create/list/get/patch/delete flow through a client generated from
// api/openapi.json with oapi-codegen. Run by test/e2e/clients_test.go:
// go run . BASE_URL TOKEN.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"flowclient/client"
)

func main() {
	if err := flow(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("go client flow: ok")
}

func flow(base, token string) error {
	ctx := context.Background()
	auth := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	c, err := client.NewClientWithResponses(base, client.WithRequestEditorFn(auth))
	if err != nil {
		return err
	}
	description := "generated"
	created, err := c.CreateProjectWithResponse(ctx, nil, client.CreateProjectRequest{Name: "go client", Description: &description})
	if err != nil || created.JSON201 == nil {
		return fmt.Errorf("create: %v %s", err, body(created))
	}
	id := created.JSON201.Id
	limit := int64(10)
	page, err := c.ListProjectsWithResponse(ctx, &client.ListProjectsParams{Limit: &limit})
	if err != nil || page.JSON200 == nil {
		return fmt.Errorf("list: %v", err)
	}
	found := false
	for _, p := range page.JSON200.Items {
		found = found || p.Id == id
	}
	if !found {
		return fmt.Errorf("list: the new project is missing")
	}
	got, err := c.GetProjectWithResponse(ctx, id, nil)
	if err != nil || got.JSON200 == nil || got.JSON200.Name != "go client" {
		return fmt.Errorf("get: %v", err)
	}
	name := "renamed"
	patched, err := c.UpdateProjectWithResponse(ctx, id, nil, client.UpdateProjectRequest{Name: &name})
	if err != nil || patched.JSON200 == nil || patched.JSON200.Name != name {
		return fmt.Errorf("patch: %v", err)
	}
	deleted, err := c.DeleteProjectWithResponse(ctx, id, nil)
	if err != nil || deleted.StatusCode() != http.StatusNoContent {
		return fmt.Errorf("delete: %v", err)
	}
	gone, err := c.GetProjectWithResponse(ctx, id, nil)
	if err != nil || gone.StatusCode() != http.StatusNotFound || gone.ApplicationproblemJSON404 == nil {
		return fmt.Errorf("get after delete: %v %d", err, gone.StatusCode())
	}
	return nil
}

func body(r interface{ StatusCode() int }) string {
	if r == nil {
		return ""
	}
	return fmt.Sprint(r.StatusCode())
}
