package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gantry-dev/gantry/internal/awsapi"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// The ECS exceptions handlers raise directly.
func clientError(format string, args ...any) error {
	return awsapi.NewError(http.StatusBadRequest, "ClientException", format, args...)
}

func invalidParameter(format string, args ...any) error {
	return awsapi.NewError(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func clusterNotFound() error {
	return awsapi.NewError(http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
}

// wireError turns a validation or store error into the ECS error a client
// sees. Anything it does not recognise stays an internal error.
func wireError(err error) error {
	var ve *ecs.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return awsapi.NewError(http.StatusBadRequest, ve.Code, "%s", ve.Message)
	case errors.Is(err, store.ErrConflict):
		// Update retries conflicts itself; one surviving that long means
		// heavy contention, which clients should retry.
		return awsapi.NewError(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	}
	return fmt.Errorf("api: %w", err)
}

func resourceNotFound() error {
	return awsapi.NewError(http.StatusBadRequest, "ResourceNotFoundException", "The specified resource could not be found.")
}

func awsError(code, message string) error {
	return awsapi.NewError(http.StatusBadRequest, code, "%s", message)
}
