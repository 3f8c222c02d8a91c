package server

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/gantry-dev/gantry/internal/awsapi"
)

// loadCredentials reads the keys that may call the API. Without a file
// named, the server keeps its own in the data directory and creates it on
// first start: there is no way to run without authentication. generated is
// set when the file is new, so the caller can tell the user how to use it.
func loadCredentials(opts Options) (keys *awsapi.Keyring, generated *awsapi.Principal, err error) {
	if opts.CredentialsFile != "" {
		keys, err = awsapi.LoadCredentialsFile(opts.CredentialsFile)
		return keys, nil, err
	}
	path := credentialsPath(opts)
	keys, err = awsapi.LoadCredentialsFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return keys, nil, err
	}
	p, err := awsapi.GenerateCredentialsFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("generate credentials: %w", err)
	}
	keys, err = awsapi.NewKeyring(p)
	return keys, &p, err
}

func credentialsPath(opts Options) string { return filepath.Join(opts.DataDir, "credentials") }

// printCredentialsHelp tells the user how to call the API with new keys.
func printCredentialsHelp(opts Options, p *awsapi.Principal, endpoint string) {
	path := credentialsPath(opts)
	fmt.Fprintf(opts.Out, `Gantry created credentials in %[1]s (mode 0600). To use them:

  export AWS_ACCESS_KEY_ID=%[2]s
  export AWS_SECRET_ACCESS_KEY=%[3]s
  export AWS_DEFAULT_REGION=%[4]s

or keep them in a profile:

  aws configure set aws_access_key_id %[2]s --profile gantry
  aws configure set aws_secret_access_key %[3]s --profile gantry
  aws configure set region %[4]s --profile gantry

then, for example: aws ecs list-clusters --endpoint-url %[5]s

`, path, p.AccessKeyID, p.SecretAccessKey, opts.Region, endpoint)
}
