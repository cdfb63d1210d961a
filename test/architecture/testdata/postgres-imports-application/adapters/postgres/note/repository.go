// Package note stores notes and, wrongly, calls the use cases.
package note

import app "example.com/fixture/application/note"

// Repository depends on the application it should serve.
type Repository struct{ svc *app.Service }
