// The create/list/get/patch/delete flow through a client generated from
// api/openapi.json (openapi-typescript types + openapi-fetch). Run by
// test/e2e/clients_test.go: node flow.js BASE_URL TOKEN.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const [base, token] = process.argv.slice(2);
const client = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });

function must<T>(what: string, value: T | undefined, status: number): T {
  if (value === undefined) {
    throw new Error(`${what}: status ${status}`);
  }
  return value;
}

async function main(): Promise<void> {
  const created = await client.POST("/api/v1/projects", { body: { name: "typescript client", description: "generated" } });
  const project = must("create", created.data, created.response.status);
  const params = { path: { project_id: project.id } };

  const page = await client.GET("/api/v1/projects", { params: { query: { limit: 10 } } });
  if (!must("list", page.data, page.response.status).items.some((p) => p.id === project.id)) {
    throw new Error("list: the new project is missing");
  }
  const got = await client.GET("/api/v1/projects/{project_id}", { params });
  if (must("get", got.data, got.response.status).name !== "typescript client") {
    throw new Error("get: wrong name");
  }
  const patched = await client.PATCH("/api/v1/projects/{project_id}", { params, body: { description: null, name: "renamed" } });
  if (must("patch", patched.data, patched.response.status).name !== "renamed") {
    throw new Error("patch: not renamed");
  }
  const deleted = await client.DELETE("/api/v1/projects/{project_id}", { params });
  if (deleted.response.status !== 204) {
    throw new Error(`delete: status ${deleted.response.status}`);
  }
  const gone = await client.GET("/api/v1/projects/{project_id}", { params });
  if (gone.response.status !== 404 || gone.error?.status !== 404 || !gone.error.type.startsWith("/problems/")) {
    throw new Error(`get after delete: status ${gone.response.status}`);
  }
  console.log("typescript client flow: ok");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
