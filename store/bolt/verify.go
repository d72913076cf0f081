package bolt

import (
	"github.com/devy-chatops/devy/store"
)

// Verifications reads the pipeline's bucket under verifications/.
func (t *boltTx) Verifications(pipeline string, shas []string) (map[string]store.Verification, error) {
	out := map[string]store.Verification{}
	b := t.tx.Bucket(bucketVerifications).Bucket([]byte(pipeline))
	if b == nil {
		return out, nil
	}
	for _, sha := range shas {
		v, err := getJSON[store.Verification](b, []byte(sha), "verification of "+sha)
		if err == store.ErrNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[sha] = v
	}
	return out, nil
}

func (t *boltTx) PutVerification(v store.Verification) error {
	b, err := t.tx.Bucket(bucketVerifications).CreateBucketIfNotExists([]byte(v.Pipeline))
	if err != nil {
		return err
	}
	return putJSON(b, []byte(v.SHA), v)
}
