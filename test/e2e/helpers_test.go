package e2e

import (
	"fmt"

	"go.uber.org/zap"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func zapString(key, value string) zap.Field { return zap.String(key, value) }
