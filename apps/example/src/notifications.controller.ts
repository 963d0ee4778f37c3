import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  Broadcast,
  ConveyorClient,
  ConveyorContext,
  OneWay,
  Request as ConveyorRequest,
} from '@conveyor/nestjs';
import { IsEmail, IsString } from 'class-validator';
import type { OrderPlaced } from './orders.controller.js';

export class Email {
  @IsEmail() to!: string;
  @IsString() text!: string;
}

@Controller()
export class NotificationsController {
  readonly #sent: Email[] = [];

  constructor(private readonly conveyor: ConveyorClient) {}

  /** Broadcast: this service's own durable copy of every placed order. */
  @Broadcast('order.placed')
  async onOrderPlaced(@Payload() order: OrderPlaced): Promise<void> {
    await this.conveyor.enqueue('notifications.email', {
      to: 'customer@example.com',
      text: `${order.orderId}: ${order.quantity} × ${order.item} paid (${order.paymentId})`,
    });
  }

  /** One-way: retried on failure; an invalid email is dead-lettered at once with the reason. */
  @OneWay('notifications.email', { retry: { maxAttempts: 3, backoffMs: 200 } })
  @UsePipes(new ValidationPipe())
  send(@Payload() email: Email, @Ctx() ctx: ConveyorContext): void {
    console.log(`email to ${email.to} (delivery ${ctx.deliveryCount}): ${email.text}`);
    this.#sent.push(email);
  }

  @ConveyorRequest('notifications.sent')
  sent(): Email[] {
    return this.#sent;
  }
}
