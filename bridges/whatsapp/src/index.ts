// The WhatsApp bridge (issue 3) is being built; see docs/whatsapp.md for what stands.
export {};
