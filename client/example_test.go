package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/ssegate/ssegate/client"
)

// Publish a spool update the way the old backend did; retries (503 while
// Redis restarts, lost answers) reuse the call's Idempotency-Key, so the
// event is stored once.
func ExamplePublisher_PublishSpool() {
	pub, err := client.NewPublisher("http://localhost:8081", client.WithToken("publish-token"))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := pub.PublishSpool(ctx, client.SpoolEvent{
		EventType: "TOMAR", TagSpool: "MK-1335-CW-25000-001", WorkerNombre: "Ana", EstadoDetalle: "Corte",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored as", res.ID, "on", res.Topic)
}

// Publish any JSON value on any topic, with a custom SSE event name.
func ExamplePublisher_Publish() {
	pub, err := client.NewPublisher("http://localhost:8081")
	if err != nil {
		log.Fatal(err)
	}
	res, err := pub.Publish(context.Background(), client.Event{
		Topic: "orders:42", Type: "status", Data: map[string]string{"status": "shipped"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.ID, res.Replayed)
}

// A refusal is an *APIError with the code README.md "Error codes" lists.
func ExampleAPIError() {
	pub, err := client.NewPublisher("http://localhost:8081")
	if err != nil {
		log.Fatal(err)
	}
	_, err = pub.Publish(context.Background(), client.Event{Topic: "no spaces allowed", Data: 1})
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Code == "invalid_topic" {
		fmt.Println("fix the topic:", apiErr.Message)
	}
}

// Follow two topics; the subscription resumes by itself after a gateway
// restart or a network blip, and a reset says the history could not cover
// the gap.
func ExampleSubscribe() {
	sub, err := client.Subscribe("http://localhost:8080", []string{"spools:updates", "orders:42"})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	for m, err := range sub.Messages(context.Background()) {
		if err != nil {
			log.Fatal(err) // a 4xx refusal, or the context ended
		}
		switch m.Type {
		case client.TypeReset:
			fmt.Println("missed events: reload the state")
		case client.TypeMessage:
			fmt.Println(m.Topic, m.ID, m.Data)
		}
	}
}

// Save the position and resume from it in a later process.
func ExampleWithLastEventID() {
	saved := "1732650000000-0" // Subscription.LastEventID() of an earlier run
	sub, err := client.Subscribe("http://localhost:8080", nil, client.WithLastEventID(saved))
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	m, err := sub.Next(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.ID, m.Data)
}
